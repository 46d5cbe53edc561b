import { newIdempotencyKey, type Result, type ShopAssistError } from '@shopassist/client';
import type { AnswerStream, QueryRequest, QueryResult } from '@shopassist/client';
import { withoutFilter, type ShownTurn } from './conversation.js';
import { readQuery } from './form.js';
import { describeError } from './messages.js';
import { asGuest, createClient } from './session.js';
import { clearMessage, hideResults, markInvalid, renderAnswerText, renderCredits, renderResults, renderThread, setBusy, showMessage, ui } from './view.js';

/**
 * The demo shopper page: a guest session, consent once, then questions with filters, product
 * cards and the credits left. Every outcome lands in the status line (aria-live) in plain words.
 */
const client = createClient();
let searching = false;
/** The conversation the next question follows up, and its turns as shown (the last one is the answer on screen). */
let conversationId: string | undefined;
let turns: ShownTurn[] = [];
let latest: QueryResult | undefined;

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
  await ask(conversationId ? { ...read.body, conversationId } : read.body);
}

/** Asks a question (a follow-up when `body` names the conversation) and shows the answer, as it is written, below the earlier turns. */
async function ask(body: QueryRequest, idempotencyKey = newIdempotencyKey()): Promise<void> {
  searching = true;
  setBusy(true);
  showMessage('info', 'Searching…');
  // One key per question, kept if the question is sent again after a fresh guest session, or
  // asked again after its stream broke off (an answer completed meanwhile is replayed, not charged twice).
  const answered = await guest(() => client.askStream(body, { idempotencyKey }));
  if (answered.ok) {
    const failed = await readAnswer(body, answered.data);
    searching = false;
    setBusy(false);
    if (failed) showError(failed, () => void ask(body, idempotencyKey));
    return;
  }
  searching = false;
  setBusy(false);
  const error = answered.error;
  if (error.code === 'CONVERSATION_NOT_FOUND' && body.conversationId) {
    // The conversation expired or was forgotten elsewhere: the question starts a new one.
    startOver();
    const { conversationId: _gone, ...fresh } = body;
    await ask(fresh);
    return;
  }
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

/**
 * Shows a streamed answer as it comes: the products once chosen, then the text growing with each
 * piece; the turn is kept once the answer is done. Returns the error that ended it, if any (the
 * question was not charged then).
 */
async function readAnswer(body: QueryRequest, stream: AnswerStream): Promise<ShopAssistError | undefined> {
  let result: QueryResult | undefined;
  let text = '';
  for await (const event of stream) {
    switch (event.type) {
      case 'meta': {
        const { type: _meta, ...meta } = event;
        if (meta.conversationId !== conversationId || stream.conversationReset) turns = [];
        conversationId = meta.conversationId;
        result = { ...meta, answer: '', products: [], cache: stream.cache, replayed: stream.replayed, idempotencyKey: stream.idempotencyKey, conversationReset: stream.conversationReset };
        renderCredits(meta.credits);
        renderThread(turns, true);
        break;
      }
      case 'products':
        if (!result) break;
        result = { ...result, products: event.products };
        renderResults(body.query, result);
        showMessage('info', 'Writing the answer…');
        break;
      case 'delta':
        text += event.text;
        renderAnswerText(text, true);
        break;
      case 'done':
        if (!result) break;
        result = { ...result, answer: event.answer };
        turns.push({ question: body.query, answer: result.answer, result });
        latest = result;
        renderThread(turns.slice(0, -1), true);
        renderResults(body.query, result);
        return undefined;
      case 'error':
        hideResults();
        await refreshCredits();
        return { code: event.code, message: event.message, status: 502, requestId: '' } as ShopAssistError;
    }
  }
  return undefined;
}

/** Forgets the conversation on this page: the next question starts a new one. */
function startOver(): void {
  conversationId = undefined;
  turns = [];
  latest = undefined;
  renderThread([], false);
  hideResults();
}

ui.newConversation.addEventListener('click', () => {
  startOver();
  showMessage('info', 'New conversation: your next question starts afresh.');
  ui.question.focus();
});

ui.forgetConversation.addEventListener('click', () => void forget());

async function forget(): Promise<void> {
  const id = conversationId;
  if (!id) return;
  const forgotten = await guest(() => client.deleteConversation(id));
  if (!forgotten.ok && forgotten.error.code !== 'CONVERSATION_NOT_FOUND') {
    showError(forgotten.error);
    return;
  }
  startOver();
  showMessage('success', 'This conversation is forgotten.');
  ui.question.focus();
}

// A filter chip's remove button asks the same search again without that filter, as a new question.
ui.chips.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest('button[data-filter]');
  if (!(button instanceof HTMLButtonElement) || !latest || searching) return;
  const filter = button.dataset.filter as keyof QueryResult['resolvedQuery']['filters'];
  const again = withoutFilter(latest.resolvedQuery, filter);
  startOver();
  const limit = Number((ui.searchForm.elements.namedItem('limit') as HTMLSelectElement).value);
  void ask({ query: again.query, limit, filters: again.filters });
});

void start();
