import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type CryptoKey } from 'jose';

export const AUTH_SECRET = 'registered-users-secret-of-at-least-32-bytes!';
export const SESSION_SECRET = 'guest-session-secret-of-at-least-32-bytes!!';

/** A registered user's token as the shop's identity provider would sign it (HS256 by default). */
export async function registeredToken(
  sub: string,
  options: { secret?: string; expiresIn?: number | string; claims?: JWTPayload; alg?: string; key?: CryptoKey | Uint8Array; kid?: string } = {},
): Promise<string> {
  const alg = options.alg ?? 'HS256';
  const key = options.key ?? new TextEncoder().encode(options.secret ?? AUTH_SECRET);
  const jwt = new SignJWT({ ...options.claims }).setProtectedHeader({ alg, typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) }).setSubject(sub).setIssuedAt();
  const exp = options.expiresIn ?? '1h';
  if (exp !== 0) jwt.setExpirationTime(typeof exp === 'number' ? Math.floor(Date.now() / 1000) + exp : exp);
  return jwt.sign(key);
}

/** An unsigned token (`alg: none`). */
export function unsignedToken(payload: JWTPayload): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.`;
}

export interface JwksServer {
  url: string;
  rsa: CryptoKey;
  ec: CryptoKey;
  requests: () => number;
  close(): Promise<void>;
}

/** A local identity provider key set: one RS256 and one ES256 key. */
export async function startJwksServer(): Promise<JwksServer> {
  const rsa = await generateKeyPair('RS256');
  const ec = await generateKeyPair('ES256');
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  let count = 0;
  const server: Server = createServer((_req, res) => {
    count++;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    rsa: rsa.privateKey,
    ec: ec.privateKey,
    requests: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
