import { createDatabase, type Database, type DatabaseSettings } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import type { RedisTarget } from '../../src/platform/redis-client.js';
import { TcpProxy } from './tcp-proxy.js';

const logger = createLogger({ level: 'silent' });

/**
 * Backends that refuse every connection, for the "unreachable" cases of the store contracts:
 * each is a TcpProxy in `refuse` mode in front of the real service. `close` closes the pools
 * opened through them, then stops the proxies.
 */
export class RefusingBackends {
  private readonly proxies: TcpProxy[] = [];
  private readonly pools: Database[] = [];

  /** A pool with `settings` whose every connection to its database is refused. */
  async database(settings: DatabaseSettings & { url: string }): Promise<Database> {
    const proxy = await this.refusing(settings.url);
    const pool = await createDatabase({ ...settings, url: proxy.rewrite(settings.url) }, logger);
    this.pools.push(pool);
    return pool;
  }

  /** `target` (a single Redis or a cluster) as reached through proxies that refuse: every node refuses. */
  async redis(target: RedisTarget): Promise<RedisTarget> {
    if (target.kind === 'single') return { kind: 'single', url: (await this.refusing(target.url)).rewrite(target.url) };
    const proxies = await Promise.all(target.nodes.map((node) => this.refusing(`redis://${node.host}:${node.port}`)));
    return { kind: 'cluster', nodes: proxies.map((proxy) => ({ host: '127.0.0.1', port: proxy.port })) };
  }

  async close(): Promise<void> {
    for (const pool of this.pools) await pool.close();
    for (const proxy of this.proxies) await proxy.stop();
  }

  private async refusing(url: string): Promise<TcpProxy> {
    const proxy = await TcpProxy.forUrl(url).start();
    proxy.setMode('refuse');
    this.proxies.push(proxy);
    return proxy;
  }
}
