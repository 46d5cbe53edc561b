import { ConnectionAcquireTimeoutError, ConnectionRefusedError, DatabaseError, UniqueConstraintError } from 'sequelize';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/platform/db-guard.js';
import { AppError } from '../../src/platform/errors.js';

const pgError = (code: string, message = 'pg error') => Object.assign(new Error(message), { code });
const wrapped = (original: Error) => new DatabaseError(original as Error & { sql: string; parameters: object });

describe('which errors mean the database is unavailable', () => {
  it.each([
    ['a refused connection', new ConnectionRefusedError(pgError('ECONNREFUSED'))],
    ['no free pool connection in time', new ConnectionAcquireTimeoutError(new Error('Operation timeout'))],
    ['a statement timeout (57014)', wrapped(pgError('57014', 'canceling statement due to statement timeout'))],
    ['a client read timeout', wrapped(new Error('Query read timeout'))],
    ['a reset socket', wrapped(pgError('ECONNRESET'))],
    ['a terminated connection', wrapped(new Error('Connection terminated unexpectedly'))],
    ['an admin shutdown (57P01)', wrapped(pgError('57P01'))],
    ['a connection exception class (08006)', wrapped(pgError('08006'))],
  ])('%s is an outage', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', new UniqueConstraintError({ message: 'duplicate' })],
    ['a check violation (23514)', wrapped(pgError('23514'))],
    ['a serialization failure (40001)', wrapped(pgError('40001'))],
    ['a domain error', new AppError('USER_NOT_FOUND', 'no such user')],
    ['a programming error', new TypeError('x is undefined')],
  ])('%s is not an outage', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});
