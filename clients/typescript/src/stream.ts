/**
 * Reading a streamed answer (Server-Sent Events of POST /api/v1/assistant/query) as typed events.
 */
import type { AnswerEvent, Product, QueryResponse } from './types.js';

type Meta = Pick<QueryResponse, 'cached' | 'creditsCharged' | 'credits' | 'conversationId' | 'resolvedQuery'>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One event of the stream as the client hands it out; null for an event it does not know (skipped). */
function toEvent(name: string, data: unknown): AnswerEvent | null {
  if (!isObject(data)) return null;
  switch (name) {
    case 'meta':
      return { type: 'meta', ...(data as unknown as Meta) };
    case 'products':
      return Array.isArray(data.products) ? { type: 'products', products: data.products as Product[] } : null;
    case 'delta':
      return typeof data.text === 'string' ? { type: 'delta', text: data.text } : null;
    case 'done':
      return typeof data.answer === 'string' ? { type: 'done', answer: data.answer } : null;
    case 'error':
      return { type: 'error', code: String(data.code), message: String(data.message) };
    default:
      return null;
  }
}

/**
 * The events of an event-stream body, in order. Never throws: a connection that breaks before
 * `done` or `error` ends with an `error` event of code NETWORK_ERROR; an aborted read just ends.
 */
export async function* readAnswerEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<AnswerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let finished = false;
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        if (!signal?.aborted && !finished) yield { type: 'error', code: 'NETWORK_ERROR', message: `The answer stream broke off (${cause instanceof Error ? cause.message : String(cause)}).` };
        return;
      }
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length === 0) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data.join('\n'));
        } catch {
          continue;
        }
        const event = toEvent(name, parsed);
        if (!event) continue;
        if (signal?.aborted) return;
        if (event.type === 'done' || event.type === 'error') finished = true;
        yield event;
        if (finished) return;
      }
    }
    if (!finished && !signal?.aborted) yield { type: 'error', code: 'NETWORK_ERROR', message: 'The answer stream ended before the answer was complete.' };
  } finally {
    await reader.cancel().catch(() => {});
  }
}
