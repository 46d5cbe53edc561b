import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import { ensureAccount, ensureAccountOnError } from '../identity/auth.middleware.js';
import type { Caller } from '../identity/caller.js';
import { AppError } from '../platform/errors.js';
import { SECURITY } from './openapi-components.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Registers the handlers of one path and answers every other method with 405 and `Allow`,
 * so that "known path, wrong method" is told apart from an unknown route.
 */
export function route(router: Router, path: string, handlers: Partial<Record<Method, RequestHandler | RequestHandler[]>>): void {
  registerPath(router, path, handlers);
}

/** An error handler may end a method's chain (the first-use ensure on failure does). */
type Handler = RequestHandler | ErrorRequestHandler;

/** What paths are registered on: a Router, or the app itself (its own router). */
export type RouteTarget = Pick<Router, 'route'>;

function registerPath(router: RouteTarget, path: string, handlers: Partial<Record<Method, Handler | Handler[]>>): void {
  const r = router.route(path);
  const allowed: string[] = [];
  for (const [method, handler] of Object.entries(handlers) as [Method, Handler | Handler[]][]) {
    r[method](...(Array.isArray(handler) ? handler : [handler]));
    allowed.push(method.toUpperCase());
    if (method === 'get') allowed.push('HEAD');
  }
  const allow = allowed.join(', ');
  r.all((_req, _res, next) => {
    next(new AppError('METHOD_NOT_ALLOWED', `This route answers ${allow} only.`, { headers: { Allow: allow } }));
  });
}

/**
 * How a caller's operation keeps the contract's rule "a user's credit row is created on their
 * first authenticated request of any kind":
 * - `ensure`: the handler never touches credits, so the row is ensured (one idempotent insert)
 *   after authentication, before the handler.
 * - `handler`: every successful answer reads or charges the caller's credits, which creates the
 *   row, so success pays nothing extra; a request that fails after authentication (validation,
 *   consent, rate limit…) gets the ensure on its way out, its own error passed on unchanged. Not
 *   after a storage outage (503): the caller would wait a second time for the same outage; the
 *   row comes with their next request.
 */
export type FirstUse = 'ensure' | 'handler';

/**
 * Who may call: `caller` a shopper's bearer token (the caller is then `callerOf(res)`), `admin`
 * the operator's X-Admin-Key, `none` anyone. A route with a check of its own (GET /metrics) is
 * `none`, puts the check in its handlers and states `security` in its doc.
 */
export type Access = { auth: 'caller'; firstUse: FirstUse } | { auth: 'admin' | 'none'; firstUse?: never };

/** The operation's OpenAPI entry; method, path and (unless given) security come from the route. */
export type OperationDoc = Omit<RouteConfig, 'method' | 'path' | 'security'> & { security?: RouteConfig['security'] };

/** One method on one path: who may call it, its handler(s) and its OpenAPI entry, declared together. */
export type Operation<D> = Access & {
  method: Method;
  /** Express syntax, `/api/v1/conversations/:conversationId`; the document says `{conversationId}`. */
  path: string;
  doc: OperationDoc;
  /** The handler(s) run after the access checks, given the router's dependencies. */
  handle: (deps: D) => RequestHandler | RequestHandler[];
};

/** The app's access checks; a router needs those its operations use. */
export interface RouteGuards {
  /** Verifies the bearer token and puts the caller on the response. */
  authenticate?: RequestHandler;
  /** Checks X-Admin-Key. */
  requireAdmin?: RequestHandler;
  /** Creates the caller's credit row if it does not exist yet (idempotent). */
  ensureAccount?: (caller: Caller) => Promise<void>;
}

/**
 * Routes registered straight on the app's own router instead of a router of their own: a request
 * for them walks one router, not two (see createApp).
 */
export interface MountableRoutes {
  mountOn(target: RouteTarget): void;
}

/**
 * A route file's operations: mounted with `router(deps, guards)` (a Router of their own) or
 * `routes(deps, guards)` (on the app's router), described by `operations`.
 */
export interface RouteTable<D> {
  readonly operations: readonly Operation<D>[];
  router(deps: D, guards?: RouteGuards): Router;
  routes(deps: D, guards?: RouteGuards): MountableRoutes;
}

export function defineRoutes<D = void>(operations: Operation<D>[]): RouteTable<D> {
  /** Each path's handlers by method, access checks included. */
  const chains = (deps: D, guards: RouteGuards): Map<string, Partial<Record<Method, Handler[]>>> => {
    const need = <K extends keyof RouteGuards>(name: K, op: Operation<D>): NonNullable<RouteGuards[K]> => {
      const guard = guards[name];
      if (!guard) throw new Error(`${op.method.toUpperCase()} ${op.path} needs ${name}`);
      return guard as NonNullable<RouteGuards[K]>;
    };
    let ensureBefore: RequestHandler | undefined;
    let ensureOnError: ErrorRequestHandler | undefined;
    const byPath = new Map<string, Partial<Record<Method, Handler[]>>>();
    for (const op of operations) {
      const handled = op.handle(deps);
      const chain: Handler[] = Array.isArray(handled) ? [...handled] : [handled];
      if (op.auth === 'admin') chain.unshift(need('requireAdmin', op));
      if (op.auth === 'caller') {
        if (op.firstUse === 'ensure') chain.unshift((ensureBefore ??= ensureAccount(need('ensureAccount', op))));
        chain.unshift(need('authenticate', op));
        // Last of the method's handlers: it sees every error after authentication.
        if (op.firstUse === 'handler') chain.push((ensureOnError ??= ensureAccountOnError(need('ensureAccount', op))));
      }
      const methods = byPath.get(op.path) ?? {};
      if (methods[op.method]) throw new Error(`${op.method.toUpperCase()} ${op.path} is declared twice`);
      methods[op.method] = chain;
      byPath.set(op.path, methods);
    }
    return byPath;
  };
  return {
    operations,
    router(deps, guards = {}) {
      const router = Router();
      for (const [path, methods] of chains(deps, guards)) registerPath(router, path, methods);
      return router;
    },
    routes(deps, guards = {}) {
      const byPath = chains(deps, guards);
      return {
        mountOn(target) {
          for (const [path, methods] of byPath) registerPath(target, path, methods);
        },
      };
    },
  };
}

/** The operation as the OpenAPI registry takes it. */
export function toRouteConfig(op: Operation<never>): RouteConfig {
  const { security, ...doc } = op.doc;
  return {
    method: op.method,
    path: op.path.replace(/:(\w+)/g, '{$1}'),
    ...doc,
    security: security ?? SECURITY[op.auth === 'caller' ? 'user' : op.auth],
  };
}
