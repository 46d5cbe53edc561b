import { TcpProxy } from './tcp-proxy.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

/** One API process of a cluster, with its own TCP proxy in front of the shared database. */
export interface ClusterNode {
  readonly index: number;
  /** Between this process and PostgreSQL: cutting it cuts this process's database alone. */
  readonly proxy: TcpProxy;
  server: ServerProcess | undefined;
  /** The port it listens on while it is up; undefined while it is down or starting. */
  port: number | undefined;
  /** Every output line of every life of this process (for a failure's report). */
  log: string;
}

/**
 * Several API processes (`src/main.ts`, as `npm start` runs it) on one PostgreSQL database,
 * each reaching it through its own TCP proxy, that a test kills with SIGKILL and starts again.
 */
export class ApiCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly env: (node: ClusterNode) => Record<string, string>,
  ) {}

  /**
   * Starts `count` processes; `env` gives each its environment (DATABASE_URL is set to its
   * proxy), the same for all or per process (by its index).
   */
  static async start(count: number, databaseUrl: string, env: Record<string, string> | ((index: number) => Record<string, string>)): Promise<ApiCluster> {
    const nodes: ClusterNode[] = [];
    for (let index = 0; index < count; index++) {
      const proxy = await TcpProxy.forUrl(databaseUrl).start();
      nodes.push({ index, proxy, server: undefined, port: undefined, log: '' });
    }
    const envOf = typeof env === 'function' ? env : () => env;
    const cluster = new ApiCluster(nodes, (node) => ({ ...envOf(node.index), DATABASE_URL: node.proxy.rewrite(databaseUrl) }));
    await Promise.all(nodes.map((node) => cluster.boot(node)));
    return cluster;
  }

  /** Ports of the processes that are up now. */
  livePorts(): number[] {
    return this.nodes.flatMap((n) => (n.port === undefined ? [] : [n.port]));
  }

  /** Kills the process at once (SIGKILL: no shutdown of any kind) and waits for it to be gone. */
  async kill(node: ClusterNode): Promise<void> {
    const server = node.server;
    if (!server) return;
    node.port = undefined;
    node.server = undefined;
    server.child.kill('SIGKILL');
    await server.exited;
    node.log += server.output();
  }

  /**
   * Starts the process again and waits until it listens. A start that fails (its database cut
   * while it migrates, say) is tried again, up to `attempts` times.
   */
  async boot(node: ClusterNode, attempts = 20): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const server = startServerProcess(this.env(node));
      node.server = server;
      try {
        node.port = await server.listening;
        return;
      } catch (err) {
        node.server = undefined;
        node.log += server.output();
        if (attempt >= attempts) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Stops every process (SIGTERM, then SIGKILL after 10 s) and every proxy. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const server = node.server;
        node.port = undefined;
        node.server = undefined;
        if (server) {
          server.child.kill('SIGTERM');
          const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
          await server.exited;
          clearTimeout(timer);
          node.log += server.output();
        }
        await node.proxy.stop();
      }),
    );
  }
}
