import { createShopAssistClient, type Result, type ShopAssistClient } from '@shopassist/client';

const TOKEN_KEY = 'shopassist.guestToken';

/** localStorage, where it is allowed (a private window or a blocked storage just forgets the token). */
const tokenStore = {
  read(): string | undefined {
    try {
      return localStorage.getItem(TOKEN_KEY) ?? undefined;
    } catch {
      return undefined;
    }
  },
  write(token: string | undefined): void {
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      // nothing to keep it in: the next visit starts a new guest session
    }
  },
};

/** The page's client, on this origin, keeping the guest token across visits. */
export function createClient(): ShopAssistClient {
  return createShopAssistClient({ baseUrl: '', token: tokenStore.read(), onTokenChange: (token) => tokenStore.write(token) });
}

/**
 * Runs `call` as a guest: starts a guest session when there is no token, and starts a fresh one
 * (once) when the server no longer accepts the stored token, e.g. after it restarted with a new
 * SESSION_SECRET or the token expired. `onNewSession` runs after a session was started.
 */
export async function asGuest<T>(client: ShopAssistClient, call: () => Promise<Result<T>>, onNewSession?: () => void): Promise<Result<T>> {
  if (!client.token) {
    const started = await client.startGuestSession();
    if (!started.ok) return started;
    onNewSession?.();
  }
  const first = await call();
  if (first.ok || first.error.code !== 'UNAUTHENTICATED') return first;
  client.setToken(undefined);
  const restarted = await client.startGuestSession();
  if (!restarted.ok) return restarted;
  onNewSession?.();
  return call();
}
