import type { ShopAssistError } from '@shopassist/client';
import { describe, expect, it } from 'vitest';
import { describeError, describeResults, formatCredits, formatPrice, formatSeconds, formatWhen } from '../../web/src/messages.js';

// The page's words, in one fixed place and time: en-US, UTC, Monday 2026-11-23 09:30.
const at = { locale: 'en-US', timeZone: 'UTC', now: new Date('2026-11-23T09:30:00Z') };
const requestId = 'req-1';

describe('the demo page explains each error in plain words', () => {
  it('out of credits: what is left and when the credits come back', () => {
    const error: ShopAssistError = { code: 'INSUFFICIENT_CREDITS', status: 402, message: 'm', requestId, available: 0, required: 1, resetsAt: '2026-11-24T09:15:00Z', retryAfterSeconds: 85_500 };
    const message = describeError(error, at);
    expect(message.title).toBe('You have used all your credits.');
    expect(message.text).toBe('A fresh answer needs 1 credit and you have 0 left. Your credits come back tomorrow at 9:15 AM (in 23 h 45 min).');
  });

  it('rate limited and unavailable: how long to wait', () => {
    expect(describeError({ code: 'RATE_LIMITED', status: 429, message: 'm', requestId, retryAfterSeconds: 12 }, at).text).toBe('Please try again in 12 s.');
    const unavailable = describeError({ code: 'SERVICE_UNAVAILABLE', status: 503, message: 'm', requestId, retryAfterSeconds: 90 }, at);
    expect(unavailable.title).toBe('The shop assistant is unavailable right now.');
    expect(unavailable.text).toBe('No credits were used. Please try again in 2 min.');
    expect(unavailable.reference).toBe(requestId);
  });

  it('validation: names the field by its label and marks it', () => {
    const one = describeError({ code: 'VALIDATION_FAILED', status: 400, message: 'm', requestId, issues: [{ path: 'filters.minPrice', message: 'minPrice must not be greater than maxPrice' }] });
    expect(one).toMatchObject({ title: 'Please check “Min price”.', text: 'Min price: must not be more than the max price.', fields: ['minPrice'] });
    const two = describeError({
      code: 'VALIDATION_FAILED', status: 400, message: 'm', requestId,
      issues: [{ path: 'filters.brand', message: '1–100 characters' }, { path: 'limit', message: 'an integer from 1 to 20' }],
    });
    expect(two).toMatchObject({ title: 'Please check the highlighted fields.', text: 'Brand: 1–100 characters. Results: an integer from 1 to 20.', fields: ['brand', 'limit'] });
    const unknown = describeError({ code: 'VALIDATION_FAILED', status: 400, message: 'm', requestId, issues: [{ path: 'filters', message: 'Unrecognized key: "colour"' }] });
    expect(unknown).toMatchObject({ title: 'Please check your question and filters.', text: 'Unrecognized key: "colour"' });
    expect(unknown.fields).toBeUndefined();
  });

  it('upstream failures say that nothing was charged; network failures say to check the connection', () => {
    expect(describeError({ code: 'UPSTREAM_ERROR', status: 502, message: 'm', requestId })).toEqual({ title: 'Finding products failed on our side.', text: 'No credits were used. Please try again.', reference: requestId });
    expect(describeError({ code: 'UPSTREAM_TIMEOUT', status: 504, message: 'm', requestId }).text).toBe('No credits were used. Please try again in a moment.');
    expect(describeError({ code: 'NETWORK_ERROR', status: 0, message: 'fetch failed', requestId: undefined, cause: new TypeError('fetch failed') })).toEqual({
      title: 'The shop cannot be reached.',
      text: 'Check your internet connection, then try again.',
    });
  });

  it('never shows the server’s technical text for a 5xx or an answer outside the contract', () => {
    const internal = describeError({ code: 'INTERNAL_ERROR', status: 500, message: 'Something went wrong on our side; the request id identifies it.', requestId });
    expect(internal).toEqual({ title: 'Something went wrong on our side.', text: 'Please try again in a moment.', reference: requestId });
    const odd = describeError({ code: 'UNEXPECTED_RESPONSE', status: 502, message: 'The server answered HTTP 502 without the ShopAssist error envelope.', requestId: undefined });
    expect(`${odd.title} ${odd.text}`).not.toMatch(/HTTP|envelope/);
  });
});

describe('the demo page formats', () => {
  it('the credits line with the reset in local time', () => {
    expect(formatCredits({ available: 2, max: 3, resetsAt: '2026-11-23T17:05:00Z' }, at)).toBe('2 of 3 credits left, resets at 5:05 PM');
    expect(formatCredits({ available: 0, max: 3, resetsAt: '2026-11-24T09:15:00Z' }, { ...at, timeZone: 'Europe/Berlin' })).toBe('0 of 3 credits left, resets tomorrow at 10:15 AM');
    expect(formatCredits({ available: 0, max: 1, resetsAt: '2026-11-23T17:05:00Z' }, at)).toBe('0 of 1 credit left, resets at 5:05 PM');
  });

  it('a moment: today, tomorrow, within a week, later', () => {
    expect(formatWhen('2026-11-23T23:59:00Z', at)).toBe('at 11:59 PM');
    expect(formatWhen('2026-11-24T00:00:00Z', at)).toBe('tomorrow at 12:00 AM');
    expect(formatWhen('2026-11-26T08:00:00Z', at)).toBe('on Thu at 8:00 AM');
    expect(formatWhen('2026-12-24T08:00:00Z', at)).toBe('on Dec 24, 2026, 8:00 AM');
  });

  it('a wait in seconds, minutes and hours', () => {
    expect(formatSeconds(1)).toBe('1 s');
    expect(formatSeconds(59)).toBe('59 s');
    expect(formatSeconds(60)).toBe('1 min');
    expect(formatSeconds(61)).toBe('2 min');
    expect(formatSeconds(3600)).toBe('1 h');
    expect(formatSeconds(86_340)).toBe('23 h 59 min');
  });

  it('a price with its currency, and a code Intl does not take as is', () => {
    expect(formatPrice(89.99, 'USD', 'en-US')).toBe('$89.99');
    expect(formatPrice(1234.5, 'EUR', 'de-DE')).toBe('1.234,50\u00a0€');
    expect(formatPrice(12, 'U$D', 'en-US')).toBe('12.00 U$D');
  });

  it('what a search found and what it cost', () => {
    expect(describeResults({ products: [1, 2, 3], creditsCharged: 1, cache: 'MISS' })).toBe('Found 3 products. 1 credit used.');
    expect(describeResults({ products: [1], creditsCharged: 0, cache: 'HIT' })).toBe('Found 1 product. Cached answer: no credit used.');
    expect(describeResults({ products: [], creditsCharged: 1, cache: 'BYPASS' })).toBe('No products matched. 1 credit used.');
  });
});
