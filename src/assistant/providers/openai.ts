// Over 300 lines: one provider, the request it builds from the catalog's candidates, and the two
// ways its reply arrives (whole, or streamed token by token) with the same validation of which
// products it may name; they share the candidate list and the reply schema.
import { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';
import { fixedIndex, isCatalogIndex, type CatalogIndex } from '../catalog/catalog-index.js';
import type { CatalogHit, CatalogSearchResult } from '../catalog/catalog-search.js';
import { describeResult, pageOf, toAnsweredProduct } from './catalog.js';
import {
  AssistantTimeoutError,
  AssistantUpstreamError,
  throwIfAborted,
  type AnswerListener,
  type AnsweredProduct,
  type AssistantAnswer,
  type AssistantProvider,
  type AssistantRequest,
  type ConversationMessage,
} from './provider.js';

export interface OpenAiProviderOptions {
  /** e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  /** Sent as a Bearer token when set; never logged or put into an error message. */
  apiKey?: string;
  model: string;
  /** Most candidates handed to the model (the catalog search runs with 3 × limit, up to this). */
  maxCandidates?: number;
}

const SYSTEM_PROMPT = [
  'You are the product assistant of an online shop. Answer the shopper using ONLY the candidate products given as JSON.',
  'Pick the candidates that best answer the question, best first, at most "limit" of them; pick none if none fits.',
  'Reply in two parts, without Markdown: first one line of JSON, {"productIds": string[]}, with ids copied exactly from the candidates;',
  'then, on the next lines, the answer: one or two friendly sentences naming what you found and the best match with its price; do not invent products, prices or features.',
].join(' ');

/** The parts of a chat-completions response that matter here (a server that does not stream). */
const completionSchema = z.object({
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullable().optional() }) }))
    .min(1),
});

/** The parts of a streamed chat-completions chunk that matter here. */
const chunkSchema = z.object({
  choices: z.array(z.object({ delta: z.object({ content: z.string().nullable().optional() }).optional() })).optional(),
  error: z.unknown().optional(),
});

/** The longest answer text kept from a reply. */
const MAX_ANSWER_CHARS = 4000;

/**
 * Any OpenAI-compatible chat-completions API writes the answer; the catalog search supplies the
 * candidates, so every product returned is a real catalog product that satisfies the filters.
 */
export class OpenAiProvider implements AssistantProvider {
  readonly name = 'openai' as const;
  readonly model: string;
  private readonly url: string;
  private readonly maxCandidates: number;
  private readonly index: CatalogIndex;

  /** `source`: a fixed catalog, or the live index whose current catalog each answer reads. */
  constructor(
    source: Catalog | CatalogIndex,
    private readonly options: OpenAiProviderOptions,
  ) {
    this.index = isCatalogIndex(source) ? source : fixedIndex(source);
    this.model = options.model;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.maxCandidates = options.maxCandidates ?? 30;
  }

  get catalogVersion(): string {
    return this.index.current().catalog.hash;
  }

  async answer(request: AssistantRequest, signal: AbortSignal, listener?: AnswerListener): Promise<AssistantAnswer> {
    throwIfAborted(signal);
    const offset = request.offset ?? 0;
    const wanted = Math.min(this.maxCandidates, Math.max(request.limit, request.limit * 3));
    const candidates = pageOf(this.index.current().search.search({ ...request, limit: offset + wanted }), offset);
    // Nothing in the catalog fits: there is nothing for the model to choose from.
    if (candidates.hits.length === 0) return { answer: describeResult(candidates), products: [] };

    const reply = new StreamedReply(candidates, request.limit, listener);
    await this.complete(
      JSON.stringify({
        question: request.query,
        filters: candidates.filters,
        limit: request.limit,
        candidates: candidates.hits.map(({ product: p }) => ({
          id: p.id,
          name: p.name,
          brand: p.brand,
          category: p.category,
          price: p.price,
          currency: p.currency,
          description: p.description,
          ...(p.rating !== undefined ? { rating: p.rating } : {}),
        })),
      }),
      signal,
      request.history,
      (piece) => reply.push(piece),
    );
    return reply.finish();
  }

  /**
   * One chat-completions call, streamed (`stream: true`): each piece of the first choice's content
   * goes to `onText` as it arrives. A server that answers with one JSON completion instead is
   * read as one piece.
   */
  private async complete(userContent: string, signal: AbortSignal, history: readonly ConversationMessage[] | undefined, onText: (piece: string) => void): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream, application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const body = JSON.stringify({
      model: this.model,
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        // The conversation so far, so "cheaper" or "for women" is read as the shopper meant it.
        ...(history ?? []).flatMap((turn) => [
          { role: 'user', content: turn.question },
          { role: 'assistant', content: turn.summary },
        ]),
        { role: 'user', content: userContent },
      ],
      stream: true,
      temperature: 0.2,
    });

    const response = await upstream(signal, () => fetch(this.url, { method: 'POST', headers, body, signal }));
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      // Only an overloaded or failing API (429, 5xx) is an outage; another status (a wrong key,
      // a bad model name) fails this answer without refusing every other shopper.
      throw new AssistantUpstreamError(`HTTP ${response.status}`, undefined, { outage: response.status === 429 || response.status >= 500 });
    }

    if (!/text\/event-stream/i.test(response.headers.get('content-type') ?? '')) {
      const payload = await upstream(signal, () => response.json());
      const completion = completionSchema.safeParse(payload);
      const content = completion.success ? completion.data.choices[0].message.content : undefined;
      if (content) onText(content);
      return;
    }

    // Server-Sent Events: `data: {chunk}` events, then `data: [DONE]`.
    const parser = new EventDataParser();
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await upstream(signal, () => reader.read());
        if (done) return;
        for (const data of parser.feed(value)) {
          if (data.trim() === '[DONE]') return;
          const piece = chunkContent(data);
          if (piece) onText(piece);
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
}

/**
 * Runs one step of the upstream call (the request, a read of its body), mapping its failures: a
 * fired signal is a timeout; a connection error (refused, reset mid-stream) an outage; a body that
 * is not JSON this request's failure alone.
 */
async function upstream<T>(signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (signal.aborted) throw new AssistantTimeoutError(err);
    if (err instanceof SyntaxError) throw new AssistantUpstreamError('the response is not JSON', err);
    throw new AssistantUpstreamError(`request failed (${networkCode(err)})`, err, { outage: true });
  }
}

/**
 * The `data` of each complete Server-Sent Event in a stream fed piece by piece: lines end with LF,
 * CRLF or CR, an empty line ends an event, several `data:` lines join with LF, and comments and
 * other fields (`event:`, `id:`, `retry:`) are skipped, as the chat-completions stream needs.
 */
export class EventDataParser {
  private buffer = '';
  private data: string[] = [];

  feed(text: string): string[] {
    let pending = this.buffer + text;
    // A CR at the end may be the first half of a CRLF: it waits for the next piece.
    const cr = pending.endsWith('\r') ? '\r' : '';
    if (cr) pending = pending.slice(0, -1);
    const events: string[] = [];
    const lines = pending.split(/\r\n|\r|\n/);
    // The last line may still be being written.
    this.buffer = (lines.pop() ?? '') + cr;
    for (const line of lines) {
      if (line === '') {
        if (this.data.length > 0) events.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(5).replace(/^ /, ''));
      } else if (line === 'data') {
        this.data.push('');
      }
    }
    return events;
  }
}

/** The content piece of one streamed chunk; an `error` event from the API is an outage. */
function chunkContent(data: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (err) {
    throw new AssistantUpstreamError('a stream event is not JSON', err);
  }
  const chunk = chunkSchema.safeParse(json);
  if (!chunk.success) throw new AssistantUpstreamError('a stream event has an unknown shape');
  if (chunk.data.error !== undefined) throw new AssistantUpstreamError('the stream reported an error', undefined, { outage: true });
  return chunk.data.choices?.[0]?.delta?.content ?? undefined;
}

/**
 * The model's reply as it streams in. The asked-for shape — a first line `{"productIds": [...]}`,
 * then the answer text — announces the products as soon as that line is complete and then passes
 * the text on as it comes. Plain text announces the catalog search's own best products and
 * streams likewise. Anything else (one JSON object, a fenced block) is read whole at the end by
 * `interpretReply` and told as one piece. The text told concatenates to the answer returned.
 */
export class StreamedReply {
  private raw = '';
  private state: 'head' | 'text' | 'whole' = 'head';
  private products: AnsweredProduct[] = [];
  private picked: AnsweredProduct[] = [];
  /** The answer text told so far (trimmed at its start; trailing whitespace waits in `pending`). */
  private text = '';
  private pending = '';
  private truncated = false;

  constructor(
    private readonly candidates: CatalogSearchResult,
    private readonly limit: number,
    private readonly listener: AnswerListener | undefined,
  ) {}

  push(piece: string): void {
    this.raw += piece;
    if (this.state === 'text') return this.write(piece);
    if (this.state === 'whole') return;
    const start = this.raw.trimStart();
    if (!start) return;
    if (!start.startsWith('{')) {
      if (start.startsWith('`')) {
        this.state = 'whole';
        return;
      }
      this.announce(undefined);
      return this.write(start);
    }
    const newline = start.indexOf('\n');
    if (newline < 0) return;
    const head = parseJsonContent(start.slice(0, newline));
    const reply = head !== null && typeof head === 'object' && !Array.isArray(head) ? (head as Record<string, unknown>) : undefined;
    const ids = reply && !answerText(reply) ? productIdsOf(reply) : undefined;
    if (!ids) {
      this.state = 'whole';
      return;
    }
    this.announce(ids);
    this.write(start.slice(newline + 1));
  }

  /** The answer, once the reply is complete; AssistantUpstreamError when it has nothing to show. */
  finish(): AssistantAnswer {
    if (!this.raw.trim()) throw new AssistantUpstreamError('the reply is empty');
    if (this.state !== 'text') {
      const answer = interpretReply(this.raw, this.candidates, this.limit);
      this.listener?.products(answer.products);
      this.listener?.delta(answer.answer);
      return answer;
    }
    if (this.text) return { answer: this.text, products: this.products };
    // Products named, but no text: the catalog's sentence for them.
    if (this.picked.length > 0) {
      const chosen = new Set(this.picked.map((p) => p.id));
      const answer = describeResult({ ...this.candidates, hits: this.candidates.hits.filter((h) => chosen.has(h.product.id)) });
      this.listener?.delta(answer);
      return { answer, products: this.products };
    }
    throw new AssistantUpstreamError('the reply has neither an answer nor a known product');
  }

  /** The products, told once: the model's choice, or the catalog's best (as in `interpretReply`). */
  private announce(ids: string[] | undefined): void {
    this.state = 'text';
    this.picked = ids ? pickProducts(ids, this.candidates.hits, this.limit) : [];
    this.products = this.picked.length > 0 || ids?.length === 0 ? this.picked : this.candidates.hits.slice(0, this.limit).map(toAnsweredProduct);
    this.listener?.products(this.products);
  }

  private write(piece: string): void {
    if (this.truncated) return;
    let next = this.pending + piece;
    if (!this.text) next = next.trimStart();
    let out = next.trimEnd();
    this.pending = next.slice(out.length);
    if (!out) return;
    if (this.text.length + out.length > MAX_ANSWER_CHARS) {
      out = `${out.slice(0, MAX_ANSWER_CHARS - 1 - this.text.length)}…`;
      this.truncated = true;
    }
    this.text += out;
    this.listener?.delta(out);
  }
}

/**
 * The model's reply as an answer, as far as it is usable: the asked-for `{"answer", "productIds"}`;
 * JSON with an answer but no usable product list (another key, unknown ids), or plain text, gives
 * that text with the catalog search's own best products; JSON with usable ids but no answer text
 * gets the catalog's sentence for them. Only a reply with nothing to show is an error (502).
 */
export function interpretReply(content: string, candidates: CatalogSearchResult, limit: number): AssistantAnswer {
  const parsed = parseJsonContent(content);
  const reply = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  const text = reply ? answerText(reply) : (typeof parsed === 'string' ? parsed : content).trim();
  const ids = reply ? productIdsOf(reply) : undefined;
  const picked = ids ? pickProducts(ids, candidates.hits, limit) : [];
  if (text) {
    const answer = text.length > MAX_ANSWER_CHARS ? `${text.slice(0, MAX_ANSWER_CHARS - 1)}…` : text;
    // The model's own choice where it named products it was given, or chose none on purpose
    // (an empty list); otherwise the catalog search's best.
    const products = picked.length > 0 || ids?.length === 0 ? picked : candidates.hits.slice(0, limit).map(toAnsweredProduct);
    return { answer, products };
  }
  if (picked.length > 0) {
    const chosen = new Set(picked.map((p) => p.id));
    return { answer: describeResult({ ...candidates, hits: candidates.hits.filter((h) => chosen.has(h.product.id)) }), products: picked };
  }
  throw new AssistantUpstreamError('the reply has neither an answer nor a known product');
}

/** The answer text of a JSON reply: `answer`, or a close variant a model may write instead. */
function answerText(reply: Record<string, unknown>): string | undefined {
  for (const key of ['answer', 'text', 'message', 'response', 'content']) {
    const value = Object.hasOwn(reply, key) ? reply[key] : undefined;
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return undefined;
}

/** The product ids of a JSON reply (`productIds`, or another list of ids or `{id}` objects); undefined without a list. */
function productIdsOf(reply: Record<string, unknown>): string[] | undefined {
  for (const key of ['productIds', 'product_ids', 'products', 'ids', 'items']) {
    const value = Object.hasOwn(reply, key) ? reply[key] : undefined;
    if (!Array.isArray(value)) continue;
    return value
      .slice(0, 100)
      .map((v: unknown) => (typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string' ? (v as { id: string }).id : undefined))
      .filter((id): id is string => id !== undefined);
  }
  return undefined;
}

/** The model's JSON, tolerating a Markdown code fence around it; undefined when it is not JSON. */
function parseJsonContent(content: string): unknown {
  const unfenced = content.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/i, '$1');
  try {
    return JSON.parse(unfenced);
  } catch {
    return undefined;
  }
}

/**
 * The chosen candidates in the model's order: unknown and repeated ids dropped, at most `limit`.
 * Scores come from the catalog search, capped so they never rise down the list.
 */
function pickProducts(ids: string[], candidates: CatalogHit[], limit: number): AnsweredProduct[] {
  const byId = new Map(candidates.map((hit) => [hit.product.id, hit]));
  const out: AnsweredProduct[] = [];
  const seen = new Set<string>();
  let ceiling = 1;
  for (const id of ids) {
    const hit = byId.get(id);
    if (!hit || seen.has(id)) continue;
    seen.add(id);
    ceiling = Math.min(ceiling, hit.score);
    out.push(toAnsweredProduct({ product: hit.product, score: ceiling }));
    if (out.length === limit) break;
  }
  return out;
}

function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
