import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createShopAssistClient, type ShopAssistClient, type ShopAssistClientOptions } from '@shopassist/client';
import { createTestApp, type TestApp } from './app.js';

/** A whole app listening on an ephemeral port, for the typed client to call over real HTTP. */
export interface ServedApp {
  app: TestApp;
  baseUrl: string;
  /** A client of this server; `options` as createShopAssistClient takes them. */
  client(options?: Omit<ShopAssistClientOptions, 'baseUrl'>): ShopAssistClient;
  close(): Promise<void>;
}

/** Builds the app with `createTestApp(env)` (every response checked against the OpenAPI document) and listens on 127.0.0.1:0. */
export async function serveApp(env: Record<string, string | undefined>): Promise<ServedApp> {
  const app = await createTestApp(env);
  const server: Server = app.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    app,
    baseUrl,
    client: (options = {}) => createShopAssistClient({ baseUrl, ...options }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    },
  };
}

/** A new guest (the client keeps the token) who has accepted the terms unless `consent: false`. */
export async function guestClient(served: ServedApp, options: { consent?: boolean } = {}): Promise<ShopAssistClient> {
  const client = served.client();
  const session = await client.startGuestSession();
  if (!session.ok) throw new Error(`guest session: ${session.error.code}`);
  if (options.consent !== false) {
    const consent = await client.recordConsent({ termsAccepted: true, marketingConsent: false });
    if (!consent.ok) throw new Error(`consent: ${consent.error.code}`);
  }
  return client;
}
