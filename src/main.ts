import 'dotenv/config';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createContainer } from './container.js';

/**
 * How long in-flight requests may take to finish after SIGTERM before connections are cut: at
 * least 10 s, and never less than the longest a query can run after its charge, so a deploy lets
 * every charged answer be recorded and delivered.
 */
const MIN_SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.problems) process.stderr.write(`${line}\n`);
      process.exit(1);
    }
    throw err;
  }

  const container = await createContainer(config);
  const { logger } = container;
  if (config.sessions.secretGenerated) {
    logger.warn('SESSION_SECRET is unset: guest tokens are signed with a random secret and end with this process');
  }

  const server: Server = container.app.listen(config.port, config.host);
  await listening(server);
  // With METRICS_PORT set, /metrics is served there only (e.g. a port the load balancer does not publish).
  const metricsPort = config.metrics.port;
  const metricsServer = container.metricsApp && metricsPort !== undefined ? container.metricsApp.listen(metricsPort, config.host) : undefined;
  if (metricsServer) {
    await listening(metricsServer);
    logger.info({ port: metricsPort }, 'metrics listening');
  }
  const address = server.address();
  logger.info(
    {
      port: typeof address === 'object' && address ? address.port : config.port,
      storage: config.storageBackend,
      cache: config.cacheBackend,
      database: config.storageBackend === 'memory' && config.cacheBackend !== 'postgres' ? 'none' : container.database?.embedded ? 'embedded' : 'external',
      assistant: config.assistant.provider,
    },
    'ShopAssist API listening',
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      logger.warn('grace period over: closing remaining connections');
      server.closeAllConnections();
    }, Math.max(MIN_SHUTDOWN_GRACE_MS, config.assistant.requestBudgetMs));
    force.unref();
    metricsServer?.close();
    metricsServer?.closeIdleConnections();
    server.close(() => {
      clearTimeout(force);
      container
        .close()
        .then(() => {
          logger.info('stopped');
          process.exit(0);
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'error while closing');
          process.exit(1);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function listening(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`ShopAssist API failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
