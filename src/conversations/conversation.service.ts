import type { Breaker } from '../platform/breaker.js';
import { AppError, StorageUnavailableError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { RandomIds } from '../platform/random-ids.js';
import type { Conversation, ConversationStore, ConversationTurn } from './conversation.store.js';

/** Turns a conversation keeps (the oldest are dropped beyond it). */
export const MAX_TURNS = 20;

/** What a conversation id looks like: the ids this service makes, and nothing a store must ever be asked about. */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * What the query route knows about the conversation a question belongs to:
 * - `new`: no `conversationId` was sent; the answer starts conversation `id`.
 * - `found`: a follow-up of the caller's live conversation.
 * - `reset`: the store could not answer; the question is answered as a new one in the same
 *   conversation (`X-Conversation: reset`).
 */
export type ConversationContext =
  | { status: 'new'; id: string }
  | { status: 'found'; id: string; conversation: Conversation }
  | { status: 'reset'; id: string };

export interface ConversationServiceOptions {
  ttlSeconds: number;
  /** Guards a remote store (PostgreSQL, Redis); none for memory, which cannot fail. */
  breaker?: Breaker | undefined;
  logger: Logger;
}

const notFound = () =>
  new AppError('CONVERSATION_NOT_FOUND', 'No such conversation: it is unknown, has expired or was deleted. Ask without conversationId to start a new one.');

/**
 * Conversations (follow-up context) on whichever store CONVERSATION_BACKEND chose, behind the
 * `conversations` breaker. For the query route the store is an aid, never a dependency: a store
 * that fails, times out or whose breaker is open makes a follow-up a `reset` and a skipped
 * record, and neither ever throws. The conversation routes answer 503 then instead.
 */
export class ConversationService {
  /** 128 random bits per id, drawn from a buffered CSPRNG (one refill per 256 ids). */
  private readonly ids = new RandomIds(16);

  constructor(
    private readonly store: ConversationStore,
    private readonly options: ConversationServiceOptions,
  ) {}

  get backend(): ConversationStore['backend'] {
    return this.store.backend;
  }

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /**
   * Whether another statement may keep a new conversation's first turn in the store's place (the
   * query gate, docs/adr/0012-the-query-gate.md): the store is PostgreSQL and its breaker not open.
   */
  get keepableElsewhere(): boolean {
    return this.store.backend === 'postgres' && this.options.breaker?.state !== 'open';
  }

  /** A new opaque conversation id (128 random bits). */
  newId(): string {
    return `cv_${this.ids.next()}`;
  }

  /**
   * The context of a question: `new` without an id, else the caller's live conversation, or a
   * `reset` when the store cannot answer. Throws CONVERSATION_NOT_FOUND (404) for an unknown,
   * expired or another user's id.
   */
  async open(userId: string, conversationId: string | undefined): Promise<ConversationContext> {
    if (conversationId === undefined) return { status: 'new', id: this.newId() };
    if (!ID_PATTERN.test(conversationId)) throw notFound();
    let conversation: Conversation | undefined;
    try {
      conversation = await this.guarded(() => this.store.get(userId, conversationId));
    } catch (err) {
      this.options.logger.warn({ event: 'conversation_reset', err: describe(err) }, 'conversation store failed: the follow-up is answered as a new question');
      return { status: 'reset', id: conversationId };
    }
    if (!conversation) throw notFound();
    return { status: 'found', id: conversationId, conversation };
  }

  /** Adds an answered turn; resolves false when it could not be kept (store failing, or the id is another user's). Never throws. */
  async record(userId: string, conversationId: string, turn: ConversationTurn): Promise<boolean> {
    try {
      const kept = await this.guarded(() => this.store.append(userId, conversationId, turn, { ttlSeconds: this.options.ttlSeconds, maxTurns: MAX_TURNS }));
      return kept !== undefined;
    } catch (err) {
      this.options.logger.warn({ event: 'conversation_record_skipped', err: describe(err) }, 'conversation store failed: the turn was not kept');
      return false;
    }
  }

  /** The caller's live conversation; 404 when there is none, 503 when the store cannot answer. */
  async get(userId: string, conversationId: string): Promise<Conversation> {
    if (!ID_PATTERN.test(conversationId)) throw notFound();
    const conversation = await this.operate(() => this.store.get(userId, conversationId));
    if (!conversation) throw notFound();
    return conversation;
  }

  /** Deletes the caller's conversation with every turn; 404 when there is none, 503 when the store cannot answer. */
  async delete(userId: string, conversationId: string): Promise<void> {
    if (!ID_PATTERN.test(conversationId)) throw notFound();
    const deleted = await this.operate(() => this.store.delete(userId, conversationId));
    if (!deleted) throw notFound();
  }

  /** Deletes expired conversations (maintenance); resolves how many. Rejects with StorageUnavailableError when the store cannot answer. */
  async cleanupExpired(): Promise<number> {
    const { breaker } = this.options;
    if (breaker?.state === 'open') throw new StorageUnavailableError(breaker.secondsUntilProbe());
    try {
      // Not through the breaker: a cleanup may take longer than one call's time limit.
      return await this.store.cleanupExpired();
    } catch (err) {
      throw new StorageUnavailableError(breaker?.secondsUntilProbe() || 5, err);
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private guarded<T>(fn: () => Promise<T>): Promise<T> {
    return this.options.breaker ? this.options.breaker.run(fn) : fn();
  }

  private async operate<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.guarded(fn);
    } catch (err) {
      this.options.logger.warn({ event: 'conversation_store_failed', err: describe(err) }, 'conversation store failed');
      throw new StorageUnavailableError(this.options.breaker?.secondsUntilProbe() || 5, err);
    }
  }
}

function describe(err: unknown): { name?: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
}
