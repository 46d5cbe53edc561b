import net from 'node:net';

/**
 * A TCP proxy that a test controls, placed between the app and PostgreSQL or Redis to cut the
 * connection for real:
 * - `pass`: bytes flow both ways;
 * - `refuse`: existing connections are reset and new ones are reset as soon as they arrive;
 * - `blackhole`: connections are accepted (and existing ones kept) but nothing is forwarded or
 *   answered, like a peer that hangs silently.
 */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export class TcpProxy {
  private server: net.Server | undefined;
  private mode: ProxyMode = 'pass';
  /** Each answer from upstream is held this long before it is passed on (a slow network). */
  private delayMs = 0;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** A proxy in front of the host and port of `url` (postgres:// or redis://). */
  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy(u.hostname, Number(u.port));
  }

  async start(): Promise<this> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /**
   * Switching to `refuse` resets every open connection. Leaving `blackhole` resets the
   * connections that were held silent (their bytes were dropped, so the peers' protocol state is
   * lost), as a healed network's keepalives would; new connections then flow again.
   */
  setMode(mode: ProxyMode): void {
    const previous = this.mode;
    this.mode = mode;
    if (mode === 'refuse' || (previous === 'blackhole' && mode === 'pass')) {
      for (const { client, upstream } of this.pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      this.pairs.clear();
    }
  }

  /** Holds every answer from upstream `ms` before passing it on (0: at once); bytes keep their order. */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    upstream.on('error', () => client.destroy());
    const pair = { client, upstream };
    this.pairs.add(pair);
    const forget = () => this.pairs.delete(pair);
    client.on('close', () => {
      upstream.destroy();
      forget();
    });
    upstream.on('close', () => {
      client.destroy();
      forget();
    });
    // Bytes cross only while passing; in a blackhole they are swallowed and nothing answers.
    client.on('data', (chunk) => {
      if (this.mode === 'pass') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (this.mode !== 'pass') return;
      // Timers of one delay fire in the order they were set: the bytes keep their order.
      if (this.delayMs > 0) setTimeout(() => client.write(chunk), this.delayMs);
      else client.write(chunk);
    });
  }

  async stop(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
