import { MAX_TURNS, type ConversationContext, type ConversationService } from '../conversations/conversation.service.js';
import type { KeptTurn } from './gate/answer-finish.js';
import type { FirstTurn } from './gate/query-gate.js';
import type { ConversationTurn, ResolvedQuery } from '../conversations/conversation.store.js';
import { resolveFollowUp, type FollowUpResolution } from '../conversations/follow-up.js';
import type { AssistantAnswer, AssistantRequest, ConversationMessage, ProductFilters } from './providers/provider.js';

/** The part of a question the conversation step reads. */
export interface ConversationalQuestion {
  query: string;
  filters?: ProductFilters | undefined;
  limit: number;
  /** A follow-up of this conversation; absent for a first question. */
  conversationId?: string | undefined;
}

/** A question placed in its conversation: what to search, and what to say and keep afterwards. */
export interface PlacedQuestion {
  conversationId: string;
  /** True when the store could not answer and a follow-up is answered as a new question (`X-Conversation: reset`). */
  reset: boolean;
  resolution: FollowUpResolution;
  /** What the provider is asked, and what the cache key is made of (never the raw follow-up text). */
  search: AssistantRequest;
}

/**
 * The query route's conversation step, kept apart from the charging flow it sits in:
 * `place` runs after the rate limit and before the cache lookup (404 CONVERSATION_NOT_FOUND for
 * a bad id, a reset when the store is down), `answerText` puts the follow-up's explanation in
 * front of the answer (cached answers are kept without it), and `record` appends the turn once
 * the answer is known. None of it ever fails a question because of the store.
 */
export class ConversationStep {
  constructor(private readonly conversations: ConversationService) {}

  async place(userId: string, question: ConversationalQuestion): Promise<PlacedQuestion> {
    const context: ConversationContext = await this.conversations.open(userId, question.conversationId);
    const turns = context.status === 'found' ? context.conversation.turns : [];
    const last = turns.at(-1);
    const resolution = resolveFollowUp({
      query: question.query,
      filters: question.filters,
      previous: last && { resolvedQuery: last.resolvedQuery, prices: last.prices, currency: last.currency },
    });
    const { query, filters, offset } = resolution.resolvedQuery;
    const search: AssistantRequest = { query, filters, limit: question.limit };
    if (offset) search.offset = offset;
    // A new topic starts over: the model is not shown the turns it leaves behind.
    if (turns.length > 0 && resolution.kind !== 'new-topic') search.history = turns.map(toMessage);
    return { conversationId: context.id, reset: context.status === 'reset', resolution, search };
  }

  /** The answer as the shopper reads it: how a follow-up was understood, then the answer. */
  answerText(placed: PlacedQuestion, answer: string): string {
    const explanation = placed.resolution.explanation;
    return explanation ? `${explanation} ${answer}` : answer;
  }

  /**
   * A new conversation's first turn as `record` would keep it, without what its answer adds (the
   * products): for the query gate to keep with a cached answer's products, where the store allows
   * (`keepableElsewhere`). Undefined for a follow-up, or when the store cannot be kept elsewhere.
   */
  firstTurn(placed: PlacedQuestion, question: ConversationalQuestion, now: Date): FirstTurn | undefined {
    if (question.conversationId !== undefined || placed.reset || !this.conversations.keepableElsewhere) return undefined;
    return {
      conversationId: placed.conversationId,
      turn: { query: question.query, resolvedQuery: placed.resolution.resolvedQuery, createdAt: now.toISOString() },
      ttlSeconds: this.conversations.ttlSeconds,
    };
  }

  /** Keeps the answered turn (never throws; a store that fails only loses the context). */
  async record(userId: string, placed: PlacedQuestion, question: ConversationalQuestion, answer: Pick<AssistantAnswer, 'products'>, now: Date): Promise<void> {
    await this.conversations.record(userId, placed.conversationId, turnOf(placed, question, answer, now));
  }

  /**
   * The answered turn for another statement to keep in the store's place (the finish of a fresh
   * answer, with its settle), where the store allows (`keepableElsewhere`); undefined otherwise.
   */
  turnToKeep(placed: PlacedQuestion, question: ConversationalQuestion, answer: Pick<AssistantAnswer, 'products'>, now: Date): KeptTurn | undefined {
    if (!this.conversations.keepableElsewhere) return undefined;
    return { conversationId: placed.conversationId, turn: turnOf(placed, question, answer, now), ttlSeconds: this.conversations.ttlSeconds, maxTurns: MAX_TURNS };
  }
}

function turnOf(placed: PlacedQuestion, question: ConversationalQuestion, answer: Pick<AssistantAnswer, 'products'>, now: Date): ConversationTurn {
  const turn: ConversationTurn = {
    query: question.query,
    resolvedQuery: placed.resolution.resolvedQuery,
    productIds: answer.products.map((p) => p.id),
    prices: answer.products.map((p) => p.price),
    createdAt: now.toISOString(),
  };
  const currency = answer.products[0]?.currency;
  if (currency) turn.currency = currency;
  return turn;
}

/** What the response says was searched. */
export function resolvedQueryOf(placed: PlacedQuestion): ResolvedQuery {
  const { query, filters, offset } = placed.resolution.resolvedQuery;
  return { query, filters: { ...filters }, ...(offset ? { offset } : {}) };
}

function toMessage(turn: ConversationTurn): ConversationMessage {
  const r = turn.resolvedQuery;
  const filters = Object.entries(r.filters)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
  const shown = turn.productIds.length > 0 ? `showed ${turn.productIds.join(', ')}` : 'found nothing';
  return { question: turn.query, summary: `Searched “${r.query}”${filters ? ` (${filters})` : ''}${r.offset ? `, after the first ${r.offset}` : ''}; ${shown}.` };
}
