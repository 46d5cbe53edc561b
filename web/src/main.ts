import { newIdempotencyKey, type Result, type ShopAssistError } from '@shopassist/client';
import { readQuery } from './form.js';
import { describeError } from './messages.js';
import { asGuest, createClient } from './session.js';
import { clearMessage, markInvalid, renderCredits, renderResults, setBusy, showMessage, ui } from './view.js';

/**
 * The demo shopper page: a guest session, consent once, then questions with filters, product
 * cards and the credits left. Every outcome lands in the status line (aria-live) in plain words.
 */
const client = createClient();
let searching = false;

function guest<T>(call: () => Promise<Result<T>>): Promise<Result<T>> {
  // A new session is a new guest with a full allowance and no consent yet.
  return asGuest(client, call, () => void refreshCredits());
}

async function refreshCredits(): Promise<void> {
  const credits = await client.getCredits();
  if (credits.ok) renderCredits(credits.data);
}

function showError(error: ShopAssistError, retry?: () => void): void {
  showMessage('error', describeError(error), { focus: true, action: retry && { label: 'Try again', run: retry } });
}

async function start(): Promise<void> {
  clearMessage();
  const consent = await guest(() => client.getConsent());
  if (consent.ok && consent.data.termsAccepted) {
    showSearch(false);
  } else if (consent.ok || consent.error.code === 'CONSENT_NOT_FOUND') {
    showConsent();
  } else {
    showError(consent.error, () => void start());
    return;
  }
  await refreshCredits();
}

function showConsent(): void {
  ui.search.hidden = true;
  ui.results.hidden = true;
  ui.consent.hidden = false;
  ui.consentTitle.focus();
}

function showSearch(focus: boolean): void {
  ui.consent.hidden = true;
  ui.search.hidden = false;
  if (focus) ui.question.focus();
}

ui.consentForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void acceptConsent();
});

async function acceptConsent(): Promise<void> {
  if (!ui.terms.checked) {
    showMessage('error', { title: 'Please accept the terms of use to continue.', text: 'Tick “I accept the terms of use”, then choose Continue.' });
    markInvalid(ui.consentForm, ['terms']);
    return;
  }
  markInvalid(ui.consentForm);
  const recorded = await guest(() => client.recordConsent({ termsAccepted: true, marketingConsent: ui.marketing.checked }));
  if (!recorded.ok) {
    showError(recorded.error);
    return;
  }
  showMessage('success', 'Thanks! Ask for anything in the shop.');
  showSearch(true);
}

ui.searchForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!searching) void search();
});

async function search(): Promise<void> {
  const read = readQuery(ui.searchForm);
  if (!read.ok) {
    showMessage('error', read.message);
    markInvalid(ui.searchForm, read.message.fields);
    return;
  }
  markInvalid(ui.searchForm);
  searching = true;
  setBusy(true);
  showMessage('info', 'Searching…');
  // One key per question, kept if the question is sent again after a fresh guest session.
  const idempotencyKey = newIdempotencyKey();
  const answered = await guest(() => client.query(read.body, { idempotencyKey }));
  searching = false;
  setBusy(false);
  if (answered.ok) {
    renderCredits(answered.data.credits);
    renderResults(read.body.query, answered.data);
    return;
  }
  const error = answered.error;
  if (error.code === 'CONSENT_REQUIRED') {
    showConsent();
    showMessage('error', describeError(error));
    return;
  }
  const message = describeError(error);
  showMessage('error', message, { focus: !message.fields });
  if (message.fields) markInvalid(ui.searchForm, message.fields);
  if (error.code === 'INSUFFICIENT_CREDITS') await refreshCredits();
}

void start();
