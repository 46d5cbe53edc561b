import { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';
import { fixedIndex, isCatalogIndex, type CatalogIndex } from '../catalog/catalog-index.js';
import type { CatalogHit, CatalogSearchResult } from '../catalog/catalog-search.js';
import { describeResult, pageOf, toAnsweredProduct } from './catalog.js';
import {
  AssistantTimeoutError,
  AssistantUpstreamError,
  throwIfAborted,
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
  'Reply with a JSON object only: {"answer": string, "productIds": string[]}.',
  '"answer" is one or two friendly sentences naming what you found and the best match with its price; do not invent products, prices or features.',
  '"productIds" are ids copied exactly from the candidates.',
].join(' ');

/** The parts of a chat-completions response that matter here. */
const completionSchema = z.object({
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullable().optional() }) }))
    .min(1),
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

  async answer(request: AssistantRequest, signal: AbortSignal): Promise<AssistantAnswer> {
    throwIfAborted(signal);
    const offset = request.offset ?? 0;
    const wanted = Math.min(this.maxCandidates, Math.max(request.limit, request.limit * 3));
    const candidates = pageOf(this.index.current().search.search({ ...request, limit: offset + wanted }), offset);
    // Nothing in the catalog fits: there is nothing for the model to choose from.
    if (candidates.hits.length === 0) return { answer: describeResult(candidates), products: [] };

    const content = await this.complete(
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
    );

    return interpretReply(content, candidates, request.limit);
  }

  /** One chat-completions call; returns the first choice's message content. */
  private async complete(userContent: string, signal: AbortSignal, history: readonly ConversationMessage[] = []): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const body = JSON.stringify({
      model: this.model,
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        // The conversation so far, so "cheaper" or "for women" is read as the shopper meant it.
        ...history.flatMap((turn) => [
          { role: 'user', content: turn.question },
          { role: 'assistant', content: turn.summary },
        ]),
        { role: 'user', content: userContent },
      ],
      response_format: { type: 'json_object' },
      temperature: 0.2,
    });

    let payload: unknown;
    try {
      const response = await fetch(this.url, { method: 'POST', headers, body, signal });
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        // Only an overloaded or failing API (429, 5xx) is an outage; another status (a wrong key,
        // a bad model name) fails this answer without refusing every other shopper.
        throw new AssistantUpstreamError(`HTTP ${response.status}`, undefined, { outage: response.status === 429 || response.status >= 500 });
      }
      payload = await response.json();
    } catch (err) {
      if (signal.aborted) throw new AssistantTimeoutError(err);
      if (err instanceof AssistantUpstreamError) throw err;
      if (err instanceof SyntaxError) throw new AssistantUpstreamError('the response is not JSON', err);
      throw new AssistantUpstreamError(`request failed (${networkCode(err)})`, err, { outage: true });
    }

    const completion = completionSchema.safeParse(payload);
    const content = completion.success ? completion.data.choices[0].message.content : undefined;
    if (!content?.trim()) throw new AssistantUpstreamError('the reply is empty');
    return content;
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
