/**
 * Assembles the OpenAPI 3.1 document from the route tables: each route file declares its
 * operations (handler and OpenAPI entry together, see route.ts); this file only lists the
 * tables and adds the shared components and the API's description.
 */
import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { OpenAPIObject } from 'openapi3-ts/oas31';
import { assistantApi } from '../assistant/assistant.routes.js';
import { cacheAdminApi } from '../cache/cache.admin.routes.js';
import { catalogAdminApi } from '../catalog/catalog.admin.routes.js';
import { consentAdminApi } from '../consent/consent.admin.routes.js';
import { consentApi } from '../consent/consent.routes.js';
import { conversationApi } from '../conversations/conversation.routes.js';
import { creditAdminApi, ledgerAdminApi } from '../credits/credit.admin.routes.js';
import { creditApi } from '../credits/credit.routes.js';
import { healthApi } from '../health/health.routes.js';
import { metricsApi } from '../health/metrics.routes.js';
import { guestSessionApi } from '../identity/guest-session.routes.js';
import { maintenanceApi } from '../maintenance/maintenance.routes.js';
import { docsApi } from './docs.routes.js';
import { errorEnvelope, named, registerSharedComponents } from './openapi-components.js';
import { API_DESCRIPTION, API_TAGS } from './openapi-description.js';
import { toRouteConfig, type Operation } from './route.js';

export interface OpenApiOptions {
  /** Where the API is reached; a relative `/` (the document's own origin) by default. */
  serverUrl?: string;
  /** The API's version as published in `info.version`. */
  version?: string;
  /** The route tables to describe; the app's own (API_ROUTE_TABLES) by default. */
  routeTables?: readonly DescribedRoutes[];
}

type DescribedRoutes = { readonly operations: readonly Operation<never>[] };

/**
 * Every route table the app serves, in the document's order (the demo page's routes are not part
 * of the API). A new route file adds its table here; test/http/openapi.integration.test.ts fails
 * while a served route is missing.
 */
export const API_ROUTE_TABLES: readonly DescribedRoutes[] = [
  guestSessionApi,
  creditApi,
  consentApi,
  conversationApi,
  assistantApi,
  creditAdminApi,
  consentAdminApi,
  cacheAdminApi,
  catalogAdminApi,
  maintenanceApi,
  ledgerAdminApi,
  healthApi,
  metricsApi,
  docsApi,
];

/** Every operation the API serves, as its route file declares it. */
export function apiOperations(routeTables: readonly DescribedRoutes[] = API_ROUTE_TABLES): Operation<never>[] {
  return routeTables.flatMap((table) => table.operations);
}

/** Every operation of the route tables, with the shared components. */
export function createOpenApiRegistry(routeTables: readonly DescribedRoutes[] = API_ROUTE_TABLES): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registerSharedComponents(registry);
  for (const op of apiOperations(routeTables)) registry.registerPath(toRouteConfig(op));
  return registry;
}

/** The OpenAPI 3.1 document of the whole API, generated from the route schemas. */
export function buildOpenApiDocument(options: OpenApiOptions = {}): OpenAPIObject {
  const generator = new OpenApiGeneratorV31([
    ...createOpenApiRegistry(options.routeTables).definitions,
    // Named components that responses inline (each error response narrows the envelope's codes).
    { type: 'schema', schema: named('ErrorEnvelope', errorEnvelope) },
  ]);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'ShopAssist API',
      version: options.version ?? '1.0.0',
      description: API_DESCRIPTION,
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags: API_TAGS,
  });
}
