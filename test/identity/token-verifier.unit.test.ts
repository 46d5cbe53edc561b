import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/identity/token-verifier.js';

const SECRET = 'registered-users-secret-of-at-least-32-bytes!';
const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function verifierAt(clock: { ms: number }): TokenVerifier {
  return new TokenVerifier(
    { sessions: { secret: 'guest-session-secret-of-at-least-32-bytes!!', secretGenerated: false, ttlDays: 30, perIpPerHour: 20, perHour: 1000 }, auth: { jwtSecret: SECRET } },
    () => new Date(clock.ms),
  );
}

function token(sub: string, claims: { exp: number; nbf?: number }): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt(Math.floor(T0 / 1000)).setExpirationTime(claims.exp);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

describe('TokenVerifier remembers verified tokens', () => {
  it('a token verified before is refused once its exp (and the 30 s skew) has passed', async () => {
    const clock = { ms: T0 };
    const verifier = verifierAt(clock);
    const t = await token('shopper-1', { exp: T0 / 1000 + 60 });
    await expect(verifier.verify(t)).resolves.toEqual({ userId: 'shopper-1', isGuest: false });
    clock.ms = T0 + 59_000;
    await expect(verifier.verify(t)).resolves.toEqual({ userId: 'shopper-1', isGuest: false });
    clock.ms = T0 + 60_000 + 29_000; // past exp, within the skew: still accepted
    await expect(verifier.verify(t)).resolves.toEqual({ userId: 'shopper-1', isGuest: false });
    clock.ms = T0 + 60_000 + 31_000;
    await expect(verifier.verify(t)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'The bearer token has expired.' });
  });

  it('a refusal is never remembered: a token refused for nbf is accepted once nbf has come', async () => {
    const clock = { ms: T0 };
    const verifier = verifierAt(clock);
    const t = await token('shopper-2', { exp: T0 / 1000 + 3600, nbf: T0 / 1000 + 120 });
    await expect(verifier.verify(t)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    clock.ms = T0 + 120_000;
    await expect(verifier.verify(t)).resolves.toEqual({ userId: 'shopper-2', isGuest: false });
  });

  it('each token answers its own caller, however often and in whatever order they come', async () => {
    const clock = { ms: T0 };
    const verifier = verifierAt(clock);
    const a = await token('shopper-a', { exp: T0 / 1000 + 3600 });
    const b = await token('shopper-b', { exp: T0 / 1000 + 3600 });
    for (let i = 0; i < 3; i++) {
      await expect(verifier.verify(a)).resolves.toEqual({ userId: 'shopper-a', isGuest: false });
      await expect(verifier.verify(b)).resolves.toEqual({ userId: 'shopper-b', isGuest: false });
    }
    // A token that differs in its signature only is still checked, and refused.
    await expect(verifier.verify(`${a.slice(0, -2)}${a.endsWith('AA') ? 'BB' : 'AA'}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('remembered() answers at once only a token verified before and not yet due again', async () => {
    const clock = { ms: T0 };
    const verifier = verifierAt(clock);
    const t = await token('shopper-3', { exp: T0 / 1000 + 60 });
    expect(verifier.remembered(t)).toBeUndefined();
    await verifier.verify(t);
    expect(verifier.remembered(t)).toEqual({ userId: 'shopper-3', isGuest: false });
    clock.ms = T0 + 60_000; // its exp: verify decides (the skew), not the memory
    expect(verifier.remembered(t)).toBeUndefined();
    const long = await token('shopper-4', { exp: T0 / 1000 + 3600 });
    clock.ms = T0;
    await verifier.verify(long);
    clock.ms = T0 + 5 * 60_000; // remembered for 5 minutes at most
    expect(verifier.remembered(long)).toBeUndefined();
  });
});
