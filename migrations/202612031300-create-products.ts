import type { Migration } from '../src/platform/migrator.js';

/**
 * The shop's catalog. Every whole-catalog upload writes its products under a new `generation`
 * while the live one keeps answering; `catalog_state` (one row) names the live generation and
 * its version (the content hash), so the swap is one row update. Single-product changes edit
 * the live generation in place, in the transaction that also moves the version.
 * `content_hash` is each product's own hash: the version is computed from them in the database.
 */
export const up: Migration = async ({ context }) => {
  await context.sql('CREATE SEQUENCE catalog_generation_seq');
  await context.sql(`
    CREATE TABLE products (
      generation   bigint        NOT NULL,
      id           varchar(100)  NOT NULL,
      name         varchar(200)  NOT NULL,
      brand        varchar(100)  NOT NULL,
      category     varchar(100)  NOT NULL,
      price        numeric(12,2) NOT NULL,
      currency     char(3)       NOT NULL,
      description  text          NOT NULL DEFAULT '',
      tags         text[]        NOT NULL DEFAULT '{}',
      rating       double precision,
      url          text,
      image_url    text,
      in_stock     boolean       NOT NULL DEFAULT true,
      content_hash char(64)      NOT NULL,
      updated_at   timestamptz   NOT NULL DEFAULT now(),
      PRIMARY KEY (generation, id),
      CONSTRAINT products_price_not_negative CHECK (price >= 0),
      CONSTRAINT products_rating_range CHECK (rating IS NULL OR (rating >= 0 AND rating <= 5))
    )`);
  await context.sql(`
    CREATE TABLE catalog_state (
      singleton     boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
      generation    bigint      NOT NULL,
      version       char(64)    NOT NULL,
      product_count integer     NOT NULL CHECK (product_count >= 0),
      updated_at    timestamptz NOT NULL DEFAULT now()
    )`);
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP TABLE catalog_state');
  await context.sql('DROP TABLE products');
  await context.sql('DROP SEQUENCE catalog_generation_seq');
};
