import request from 'supertest';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** A new guest who has accepted the terms (unless `consent: false`): the Authorization value and the user id. */
export async function guest(app: TestApp, options: { consent?: boolean } = {}): Promise<{ auth: string; userId: string }> {
  const session = await request(app.app).post('/api/v1/sessions/guest');
  expect(session.status).toBe(201);
  const auth = `Bearer ${session.body.token as string}`;
  if (options.consent !== false) {
    const consent = await request(app.app).put('/api/v1/consent').set('Authorization', auth).send({ termsAccepted: true, marketingConsent: false });
    expect(consent.status).toBe(200);
  }
  return { auth, userId: session.body.userId as string };
}
