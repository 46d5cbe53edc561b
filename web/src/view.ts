import type { QueryResult } from '@shopassist/client';
import { chipsOf, type ShownTurn } from './conversation.js';
import { describeResults, formatCredits, formatPrice, type PlainMessage } from './messages.js';

/** The page's elements, looked up once; a missing one is a bug in index.html, so it throws. */
function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

export const ui = {
  credits: byId<HTMLParagraphElement>('credits'),
  message: byId<HTMLDivElement>('message'),
  consent: byId<HTMLElement>('consent'),
  consentTitle: byId<HTMLHeadingElement>('consent-title'),
  consentForm: byId<HTMLFormElement>('consent-form'),
  terms: byId<HTMLInputElement>('terms'),
  marketing: byId<HTMLInputElement>('marketing'),
  search: byId<HTMLElement>('search'),
  searchForm: byId<HTMLFormElement>('search-form'),
  searchButton: byId<HTMLButtonElement>('search-button'),
  question: byId<HTMLInputElement>('question'),
  results: byId<HTMLElement>('results'),
  resultsTitle: byId<HTMLHeadingElement>('results-title'),
  cacheMarker: byId<HTMLParagraphElement>('cache-marker'),
  answer: byId<HTMLParagraphElement>('answer'),
  chips: byId<HTMLUListElement>('chips'),
  conversation: byId<HTMLElement>('conversation'),
  thread: byId<HTMLOListElement>('thread'),
  newConversation: byId<HTMLButtonElement>('new-conversation'),
  forgetConversation: byId<HTMLButtonElement>('forget-conversation'),
  products: byId<HTMLOListElement>('products'),
};

export type MessageKind = 'info' | 'success' | 'error';

/**
 * Writes the status line (an aria-live region, so screen readers announce it). With `focus`,
 * focus moves there so that keyboard users land on what just happened.
 */
export function showMessage(kind: MessageKind, message: PlainMessage | string, options: { focus?: boolean; action?: { label: string; run: () => void } } = {}): void {
  const box = ui.message;
  box.replaceChildren();
  box.className = `message message-${kind}`;
  const plain = typeof message === 'string' ? { title: message, text: '' } : message;
  const title = el('p', 'message-title', plain.title);
  box.append(title);
  if (plain.text) box.append(el('p', 'message-text', plain.text));
  if (plain.reference) box.append(el('p', 'message-reference', `Reference: ${plain.reference}`));
  if (options.action) {
    const button = el('button', 'button button-secondary', options.action.label);
    button.type = 'button';
    button.addEventListener('click', options.action.run, { once: true });
    box.append(button);
  }
  if (options.focus) box.focus();
}

export function clearMessage(): void {
  ui.message.replaceChildren();
  ui.message.className = 'message';
}

/** Marks the named form fields invalid (aria-invalid, described by the message), or clears all marks. */
export function markInvalid(form: HTMLFormElement, names: string[] = []): void {
  for (const field of Array.from(form.elements)) {
    if (!(field instanceof HTMLInputElement || field instanceof HTMLSelectElement)) continue;
    const invalid = names.includes(field.name);
    if (invalid) field.setAttribute('aria-invalid', 'true');
    else field.removeAttribute('aria-invalid');
    const describedBy = (field.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== 'message');
    if (invalid) describedBy.push('message');
    if (describedBy.length > 0) field.setAttribute('aria-describedby', describedBy.join(' '));
    else field.removeAttribute('aria-describedby');
  }
  const first = Array.from(form.elements).find((field) => field instanceof HTMLElement && names.includes((field as HTMLInputElement).name));
  if (first instanceof HTMLElement) first.focus();
}

export function renderCredits(credits: { available: number; max: number; resetsAt: string }): void {
  ui.credits.textContent = formatCredits(credits);
  ui.credits.classList.toggle('credits-empty', credits.available === 0);
}

/** The answer, its product cards and the cached marker; focus moves to the results heading. */
export function renderResults(question: string, result: QueryResult): void {
  const count = result.products.length;
  ui.resultsTitle.textContent = count === 0 ? `No products for “${question}”` : `${count === 1 ? '1 product' : `${count} products`} for “${question}”`;
  const cached = result.cache === 'HIT';
  ui.cacheMarker.hidden = !cached;
  ui.cacheMarker.textContent = result.creditsCharged === 0 ? 'Cached answer · no credit used' : 'Cached answer';
  renderAnswerText(result.answer, false);
  renderChips(result);
  ui.products.replaceChildren(...result.products.map(productCard));
  ui.results.hidden = false;
  showMessage('success', describeResults(result));
  ui.resultsTitle.focus();
}

/** The answer's text so far, while it is written (`writing`: more is coming). */
export function renderAnswerText(text: string, writing: boolean): void {
  ui.answer.textContent = text;
  ui.answer.toggleAttribute('data-writing', writing);
}

/** The resolved search as chips; a filter chip's button asks again without that filter. */
function renderChips(result: QueryResult): void {
  const currency = result.products[0]?.currency ?? 'USD';
  ui.chips.replaceChildren(
    ...chipsOf(result.resolvedQuery, currency).map((chip) => {
      const item = el('li', 'chip', chip.label);
      if (chip.filter) {
        const remove = el('button', 'chip-remove', '×');
        remove.type = 'button';
        remove.dataset.filter = chip.filter;
        remove.setAttribute('aria-label', `Remove ${chip.label}`);
        item.append(remove);
      }
      return item;
    }),
  );
}

/** The conversation's earlier turns, oldest first, above the latest answer; hidden when there are none. */
export function renderThread(earlier: readonly ShownTurn[], active: boolean): void {
  ui.thread.replaceChildren(
    ...earlier.map((turn) => {
      const item = el('li', 'turn');
      item.append(el('p', 'turn-question', turn.question), el('p', 'turn-answer', turn.answer));
      return item;
    }),
  );
  ui.conversation.hidden = !active;
}

export function hideResults(): void {
  ui.results.hidden = true;
}

function productCard(product: QueryResult['products'][number]): HTMLLIElement {
  const item = el('li', 'product');
  const article = el('article', 'product-card');
  const relevance = Math.round(Math.min(1, Math.max(0, product.score)) * 100);
  const bar = el('span', 'relevance-bar');
  bar.setAttribute('aria-hidden', 'true');
  const fill = el('span', 'relevance-fill');
  fill.style.width = `${relevance}%`; // CSSOM, which the page's CSP allows (unlike a style attribute)
  bar.append(fill);
  const relevanceLine = el('p', 'relevance');
  relevanceLine.append(bar, el('span', '', `Relevance ${relevance}%`));
  // The shop's own picture and page, when it has them: an https picture (the page's CSP allows
  // no other), the name as the link to the product's page.
  if (product.imageUrl && safeUrl(product.imageUrl, ['https:'])) {
    const image = el('img', 'product-image');
    image.src = product.imageUrl;
    image.alt = ''; // the name below says what it shows
    image.loading = 'lazy';
    article.append(image);
  }
  const name = el('h3', 'product-name');
  if (product.url && safeUrl(product.url, ['https:', 'http:'])) {
    const link = el('a', 'product-link', product.name);
    link.href = product.url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    name.append(link);
  } else {
    name.textContent = product.name;
  }
  article.append(el('p', 'product-category', product.category), name, el('p', 'product-brand', product.brand));
  if (product.inStock === false) article.append(el('p', 'product-stock', 'Out of stock'));
  article.append(el('p', 'product-price', formatPrice(product.price, product.currency)), relevanceLine);
  item.append(article);
  return item;
}

/** Only absolute URLs of these protocols are put into the page (never javascript: or data:). */
function safeUrl(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export function setBusy(busy: boolean): void {
  ui.searchButton.textContent = busy ? 'Searching…' : 'Search';
  if (busy) ui.searchForm.setAttribute('aria-busy', 'true');
  else ui.searchForm.removeAttribute('aria-busy');
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}
