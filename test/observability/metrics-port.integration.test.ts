import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startServerProcess } from '../support/server-process.js';

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('METRICS_PORT in a real process', () => {
  it('serves /metrics on its own listener only, and stops both listeners on SIGTERM', async () => {
    const metricsPort = await freePort();
    const server = startServerProcess({ STORAGE_BACKEND: 'memory', METRICS_PORT: String(metricsPort), METRICS_TOKEN: 'metrics-token-0123456789abcdef' });
    try {
      const port = await server.listening;
      expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(401);
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { Authorization: 'Bearer metrics-token-0123456789abcdef' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('http_requests_total');
      expect(server.output()).toContain('"msg":"metrics listening"');
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });
});
