/**
 * The query route's HTTP path alone, for bench/http-path-cpu.ts: the app as createApp builds it
 * (request id, security headers, metrics, request log, refusal guard, the query route with its
 * authentication, body parsing, validation and response writing) in front of an assistant that
 * answers one cached outcome at once, so that no database, cache or search work is measured.
 * Started with `node --import tsx bench/http-path-server.ts`, configured by the environment as
 * the API is; CHECKOUT: the checkout whose src/ to load (default this one).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as App from '../src/app.js';
import type * as AssistantRoutes from '../src/assistant/assistant.routes.js';
import type { AssistantService } from '../src/assistant/assistant.service.js';
import type * as ConfigModule from '../src/config.js';
import type * as RejectionLimit from '../src/http/rejection-limit.js';
import type * as Auth from '../src/identity/auth.middleware.js';
import type * as Verifier from '../src/identity/token-verifier.js';
import type * as LoggerModule from '../src/platform/logger.js';
import type * as MetricsModule from '../src/platform/metrics.js';
import type { RateLimitStore } from '../src/rate-limit/rate-limit.store.js';

const ROOT = path.resolve(process.env.CHECKOUT ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const load = <M>(file: string) => import(pathToFileURL(path.join(ROOT, file)).href) as Promise<M>;

const { createApp } = await load<typeof App>('src/app.ts');
const { assistantRoutes } = await load<typeof AssistantRoutes>('src/assistant/assistant.routes.ts');
const { loadConfig } = await load<typeof ConfigModule>('src/config.ts');
const { RejectionThrottle } = await load<typeof RejectionLimit>('src/http/rejection-limit.ts');
const { authenticate } = await load<typeof Auth>('src/identity/auth.middleware.ts');
const { TokenVerifier } = await load<typeof Verifier>('src/identity/token-verifier.ts');
const { createLogger } = await load<typeof LoggerModule>('src/platform/logger.ts');
const { Metrics } = await load<typeof MetricsModule>('src/platform/metrics.ts');

const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel });
const products = Array.from({ length: 5 }, (_, i) => ({
  id: `p-10${i}`,
  name: `Trailmaster GTX ${i}`,
  brand: 'Northpeak',
  category: 'shoes',
  price: 89.99 + i,
  currency: 'USD',
  score: 0.87,
  url: `https://shop.example/p/10${i}`,
  imageUrl: `https://shop.example/img/10${i}.jpg`,
  inStock: true,
}));
const productsJson = JSON.stringify(products);
let answered = 0;
// A cached answer as the service gives it, the balance going down by one each time.
const assistant = {
  query: () => {
    answered++;
    const resetsAt = new Date(Date.now() + 3_600_000);
    const credits = { available: 1_000_000 - answered, max: 1_000_000 };
    return Promise.resolve({
      body: {
        answer: 'The Trailmaster GTX is waterproof and within budget.',
        products,
        cached: true,
        creditsCharged: 0,
        credits: { ...credits, resetsAt: resetsAt.toISOString() },
        conversationId: 'cv_3q2mJ8kP0sX1vYtR9wLz4A',
        resolvedQuery: { query: 'waterproof hiking boots', filters: { maxPrice: 150 } },
      },
      cache: 'HIT' as const,
      replayed: false,
      account: { ...credits, resetsAt },
      productsJson,
    });
  },
} as unknown as AssistantService;
// Refusals are not what is measured: the guard runs, nothing is ever counted.
const store = { hit: () => Promise.resolve({ count: 0, resetsAt: new Date() }) } as unknown as RateLimitStore;
const guards = { authenticate: authenticate(new TokenVerifier(config)), ensureAccount: () => Promise.resolve() };
const app = createApp({
  config,
  logger,
  metrics: new Metrics(),
  routers: [assistantRoutes(assistant, guards, config.queryHashKey, logger)],
  rejections: new RejectionThrottle(store, config.rejections, logger),
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ msg: 'http path server listening', port: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
