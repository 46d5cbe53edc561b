import type { RequestHandler, Router } from 'express';
import { AppError } from '../platform/errors.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Registers the handlers of one path and answers every other method with 405 and `Allow`,
 * so that "known path, wrong method" is told apart from an unknown route.
 */
export function route(router: Router, path: string, handlers: Partial<Record<Method, RequestHandler | RequestHandler[]>>): void {
  const r = router.route(path);
  const allowed: string[] = [];
  for (const [method, handler] of Object.entries(handlers) as [Method, RequestHandler | RequestHandler[]][]) {
    r[method](...(Array.isArray(handler) ? handler : [handler]));
    allowed.push(method.toUpperCase());
    if (method === 'get') allowed.push('HEAD');
  }
  const allow = allowed.join(', ');
  r.all((_req, _res, next) => {
    next(new AppError('METHOD_NOT_ALLOWED', `This route answers ${allow} only.`, { headers: { Allow: allow } }));
  });
}
