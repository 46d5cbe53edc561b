import type { ShopAssistError } from '@shopassist/client';

/**
 * Plain-words texts of the page: every contract error as a message a shopper understands, the
 * credits line and time formats. No DOM here, so the unit tests run these rules under Node.
 */

export interface PlainMessage {
  /** One short sentence: what happened. */
  title: string;
  /** What it means for the shopper and what to do next. */
  text: string;
  /** The form fields (by `name`) the message is about, to mark them invalid. */
  fields?: string[];
  /** For server-side errors: the request id to quote. */
  reference?: string;
}

export interface FormatOptions {
  now?: Date;
  locale?: string;
  timeZone?: string;
}

/** The form's labels by the API's field paths, as a validation issue names them. */
export const FIELD_LABELS: Record<string, { name: string; label: string }> = {
  query: { name: 'query', label: 'Your question' },
  'filters.category': { name: 'category', label: 'Category' },
  'filters.brand': { name: 'brand', label: 'Brand' },
  'filters.minPrice': { name: 'minPrice', label: 'Min price' },
  'filters.maxPrice': { name: 'maxPrice', label: 'Max price' },
  limit: { name: 'limit', label: 'Results' },
};

const NOTHING_CHARGED = 'No credits were used.';

/** The message for an error result of the client. Every code has words; unknown ones get generic ones. */
export function describeError(error: ShopAssistError, options: FormatOptions = {}): PlainMessage {
  switch (error.code) {
    case 'INSUFFICIENT_CREDITS':
      return {
        title: 'You have used all your credits.',
        text:
          `A fresh answer needs ${plural(error.required, 'credit')} and you have ${error.available} left. ` +
          `Your credits come back ${formatWhen(error.resetsAt, options)} (${formatWait(error.retryAfterSeconds)}).`,
      };
    case 'RATE_LIMITED':
      return {
        title: 'That was a lot of requests in a short time.',
        text: `Please try again in ${formatSeconds(error.retryAfterSeconds)}.`,
      };
    case 'VALIDATION_FAILED':
      return describeValidation(error.issues);
    case 'CONSENT_REQUIRED':
      return { title: 'Please accept the terms of use first.', text: 'Then ask your question again.' };
    case 'SERVICE_UNAVAILABLE':
      return {
        title: 'The shop assistant is unavailable right now.',
        text: `${NOTHING_CHARGED} Please try again in ${formatSeconds(error.retryAfterSeconds)}.`,
        reference: error.requestId,
      };
    case 'UPSTREAM_ERROR':
      return {
        title: 'Finding products failed on our side.',
        text: `${NOTHING_CHARGED} Please try again.`,
        reference: error.requestId,
      };
    case 'UPSTREAM_TIMEOUT':
      return {
        title: 'Finding products took too long.',
        text: `${NOTHING_CHARGED} Please try again in a moment.`,
        reference: error.requestId,
      };
    case 'NETWORK_ERROR':
      return {
        title: 'The shop cannot be reached.',
        text: 'Check your internet connection, then try again.',
      };
    case 'UNAUTHENTICATED':
      return { title: 'Your visit has expired.', text: 'Reload the page to start a new one.' };
    case 'IDEMPOTENCY_IN_PROGRESS':
      return { title: 'That question is still being answered.', text: 'Please wait a moment and try again.' };
    case 'IDEMPOTENCY_CONFLICT':
      return { title: 'That request could not be repeated.', text: 'Please ask your question again.' };
    case 'UNEXPECTED_RESPONSE':
      return { title: 'The shop answered in a way this page does not understand.', text: 'Please try again in a moment.', reference: error.requestId };
    case 'PAYLOAD_TOO_LARGE':
      return { title: 'That question is too long.', text: 'Please shorten it and try again.', fields: ['query'] };
    default:
      return error.status >= 500
        ? { title: 'Something went wrong on our side.', text: 'Please try again in a moment.', reference: error.requestId }
        : { title: 'That did not work.', text: error.message };
  }
}

function describeValidation(issues: { path: string; message: string }[]): PlainMessage {
  const known = issues.filter((issue) => FIELD_LABELS[issue.path]);
  if (known.length === 0) {
    return { title: 'Please check your question and filters.', text: issues.map((i) => i.message).join('. ') || 'Something in the form is not valid.' };
  }
  return {
    title: known.length === 1 ? `Please check “${FIELD_LABELS[known[0].path].label}”.` : 'Please check the highlighted fields.',
    text: known.map((issue) => `${FIELD_LABELS[issue.path].label}: ${fieldRule(issue)}`).join(' '),
    fields: [...new Set(known.map((issue) => FIELD_LABELS[issue.path].name))],
  };
}

/** The server's rule for a field, in the form's words where the page knows a better phrasing. */
function fieldRule(issue: { path: string; message: string }): string {
  if (issue.path === 'filters.minPrice' && /greater than maxPrice/.test(issue.message)) return 'must not be more than the max price.';
  const message = issue.message.trim();
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

/** "2 of 3 credits left, resets tomorrow at 9:53 AM" ("0 of 1 credit left, …": the noun follows the allowance). */
export function formatCredits(credits: { available: number; max: number; resetsAt: string }, options: FormatOptions = {}): string {
  return `${credits.available} of ${plural(credits.max, 'credit')} left, resets ${formatWhen(credits.resetsAt, options)}`;
}

/**
 * A moment in the shopper's local time, to follow a verb: "at 9:53 AM" (today), "tomorrow at
 * 9:53 AM", "on Tue at 9:53 AM" (within a week), else "on Nov 30, 2026, 9:53 AM".
 */
export function formatWhen(iso: string, { now = new Date(), locale, timeZone }: FormatOptions = {}): string {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return `at ${iso}`;
  const day = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: 'numeric', minute: '2-digit' }).format(when);
  if (day(when) === day(now)) return `at ${time}`;
  if (day(when) === day(new Date(now.getTime() + 86_400_000))) return `tomorrow at ${time}`;
  if (when > now && when.getTime() - now.getTime() < 6 * 86_400_000) {
    return `on ${new Intl.DateTimeFormat(locale, { timeZone, weekday: 'short' }).format(when)} at ${time}`;
  }
  return `on ${new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'medium', timeStyle: 'short' }).format(when)}`;
}

/** "in 23 h 59 min", "in 45 s", "in a moment". */
export function formatWait(seconds: number): string {
  return seconds > 0 ? `in ${formatSeconds(seconds)}` : 'in a moment';
}

/** A duration for people: "45 s", "3 min", "23 h 59 min". */
export function formatSeconds(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A price with its currency in the shopper's locale ("$89.99"); an unknown currency code is shown as is. */
export function formatPrice(price: number, currency: string, locale?: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(price);
  } catch {
    return `${price.toFixed(2)} ${currency}`;
  }
}

/** What a search found, for the status line. */
export function describeResults(result: { products: unknown[]; creditsCharged: number; cache: string }): string {
  const found = result.products.length === 0 ? 'No products matched.' : `Found ${plural(result.products.length, 'product')}.`;
  const cost = result.creditsCharged === 0 ? 'No credit used' : `${plural(result.creditsCharged, 'credit')} used`;
  return result.cache === 'HIT' ? `${found} Cached answer: ${cost.toLowerCase()}.` : `${found} ${cost}.`;
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
