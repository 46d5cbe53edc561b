import type { Model, ModelStatic, Sequelize } from 'sequelize';

/**
 * Defines a model on a given Sequelize instance once: each feature defines the models of the
 * tables it owns on the instance it is handed (never on a module-level one), so each app, and
 * each test, has its own; a second repository on the same instance gets the same model. The
 * schema itself is owned by migrations/: models never `sync()`.
 */
export function defineOnce<M extends Model>(sequelize: Sequelize, name: string, define: (sequelize: Sequelize) => ModelStatic<M>): ModelStatic<M> {
  return sequelize.isDefined(name) ? (sequelize.model(name) as ModelStatic<M>) : define(sequelize);
}

/** A model validation that mirrors a CHECK constraint: throws with the constraint's name. */
export function check(constraint: string, holds: boolean): void {
  if (!holds) throw new Error(`violates ${constraint}`);
}
