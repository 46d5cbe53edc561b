// Over 300 lines: three streamed formats (JSON, NDJSON, CSV) behind one reader, each naming
// where a bad product was; they share the product validation and the error shape.
/**
 * Reads a catalog upload as it streams in, one product at a time, so an upload of any size is
 * held in memory once at most (as the products being written), never as a whole body plus its
 * parsed copy. Three formats:
 * - `json`: `{"products": [ {…}, … ]}` (other top-level keys are ignored), products named by index;
 * - `ndjson`: one product per line, named by line number (blank lines are skipped);
 * - `csv`: a header row of field names, one product per record (RFC 4180 quoting), `tags`
 *   separated by `|`, named by line number.
 * Every product comes out with where it was (`products[3]`, `line 4`) and either its value or
 * why it could not be read; a body whose shape is wrong as a whole is an UploadShapeError.
 */

export type UploadFormat = 'json' | 'ndjson' | 'csv';

export type UploadItem = { where: string; value: unknown } | { where: string; unreadable: string };

export class UploadShapeError extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(message);
    this.name = 'UploadShapeError';
  }
}

/** The format a Content-Type names, or undefined. */
export function uploadFormatOf(contentType: string | undefined): UploadFormat | undefined {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') return 'ndjson';
  if (type === 'text/csv') return 'csv';
  return undefined;
}

/** UTF-8 text of a byte stream, chunk by chunk (a character split across chunks is kept whole). */
async function* utf8(source: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    for await (const chunk of source) {
      const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      if (text) yield text;
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch (err) {
    if (err instanceof TypeError) throw new UploadShapeError('(body)', 'the body is not valid UTF-8 text');
    throw err;
  }
}

export function readUpload(source: AsyncIterable<Buffer | string>, format: UploadFormat): AsyncGenerator<UploadItem> {
  switch (format) {
    case 'json':
      return readJson(utf8(source));
    case 'ndjson':
      return readNdjson(utf8(source));
    case 'csv':
      return readCsv(utf8(source));
  }
}

function parseJson(where: string, text: string): UploadItem {
  try {
    return { where, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { where, unreadable: `not valid JSON (${(err as Error).message})` };
  }
}

async function* readNdjson(text: AsyncIterable<string>): AsyncGenerator<UploadItem> {
  let pending = '';
  let line = 0;
  for await (const chunk of text) {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const content = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      line++;
      if (content.trim()) yield parseJson(`line ${line}`, content);
    }
  }
  line++;
  if (pending.trim()) yield parseJson(`line ${line}`, pending);
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * A scanner of just enough JSON structure (strings, brackets, depth) to cut the elements of the
 * top-level `products` array out of the stream; each element is then parsed on its own.
 */
async function* readJson(text: AsyncIterable<string>): AsyncGenerator<UploadItem> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let started = false;
  /** The last string closed at depth 1 (a key, when a ':' follows) and whether ':' followed it. */
  let lastKey = '';
  let keyText = '';
  let collectingKey = false;
  let afterColon = false;
  let foundProducts = false;
  let inProducts = false;
  let index = 0;
  /** The element being cut out: the text so far, whether it is open, and its kind. */
  let element = '';
  let inElement = false;
  let scalar = false;
  let ended = false;

  for await (const chunk of text) {
    let start = inElement ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (ended) {
        if (!WS.has(c)) throw new UploadShapeError('(body)', 'unexpected text after the JSON object');
        continue;
      }
      if (inString) {
        if (collectingKey && !(c === 0x22 && !escaped)) keyText += chunk[i];
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) {
          inString = false;
          if (collectingKey) {
            collectingKey = false;
            lastKey = keyText;
          }
        }
        continue;
      }
      if (!started) {
        if (WS.has(c)) continue;
        if (c !== 0x7b) throw new UploadShapeError('(body)', 'a JSON object {"products": [ … ]} is expected');
        started = true;
        depth = 1;
        continue;
      }
      // A scalar element ends at the ',' or ']' (or white space) after it.
      if (inElement && scalar && depth === 2 && (c === 0x2c || c === 0x5d || WS.has(c))) {
        element += chunk.slice(start, i);
        yield parseJson(`products[${index++}]`, element);
        element = '';
        inElement = false;
        scalar = false;
        start = -1;
      }
      if (inProducts && depth === 2 && !inElement && !WS.has(c) && c !== 0x2c && c !== 0x5d) {
        inElement = true;
        scalar = c !== 0x7b && c !== 0x5b;
        element = '';
        start = i;
      }
      if (c === 0x22) {
        inString = true;
        if (depth === 1) {
          collectingKey = true;
          keyText = '';
        }
      } else if (c === 0x3a) {
        if (depth === 1) afterColon = true;
      } else if (c === 0x7b || c === 0x5b) {
        if (depth === 1 && c === 0x5b && afterColon && lastKey === 'products') {
          inProducts = true;
          foundProducts = true;
        }
        if (depth === 1) afterColon = false;
        depth++;
      } else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth < 0) throw new UploadShapeError('(body)', 'unbalanced brackets');
        if (inElement && !scalar && depth === 2) {
          element += chunk.slice(start, i + 1);
          yield parseJson(`products[${index++}]`, element);
          element = '';
          inElement = false;
          start = -1;
        } else if (inProducts && depth === 1) {
          inProducts = false;
        } else if (depth === 0) {
          ended = true;
        }
      } else if (c === 0x2c && depth === 1) {
        afterColon = false;
      }
    }
    if (inElement) element += chunk.slice(Math.max(start, 0));
  }
  if (!started) throw new UploadShapeError('(body)', 'the body is empty; a JSON object {"products": [ … ]} is expected');
  if (!ended || inString) throw new UploadShapeError('(body)', 'the JSON ends before the object is closed');
  if (!foundProducts) throw new UploadShapeError('products', 'a "products" array is required');
}

/** The columns a CSV header may name (the product's fields). */
const CSV_COLUMNS = new Set(['id', 'name', 'brand', 'category', 'price', 'currency', 'description', 'tags', 'rating', 'url', 'imageUrl', 'inStock']);
const CSV_REQUIRED = ['id', 'name', 'brand', 'category', 'price', 'currency'];

/** A CSV cell as the product field wants it; a value that does not convert is left as text for validation to name. */
function csvValue(column: string, cell: string): unknown {
  switch (column) {
    case 'price':
    case 'rating': {
      if (cell.trim() === '') return column === 'rating' ? undefined : cell;
      const n = Number(cell);
      return Number.isFinite(n) ? n : cell;
    }
    case 'tags':
      return cell
        .split('|')
        .map((t) => t.trim())
        .filter(Boolean);
    case 'inStock': {
      const v = cell.trim().toLowerCase();
      if (v === '') return undefined;
      if (v === 'true' || v === '1' || v === 'yes') return true;
      if (v === 'false' || v === '0' || v === 'no') return false;
      return cell;
    }
    case 'url':
    case 'imageUrl':
    case 'description':
      return cell.trim() === '' ? undefined : cell;
    default:
      return cell;
  }
}

async function* readCsv(text: AsyncIterable<string>): AsyncGenerator<UploadItem> {
  let header: string[] | undefined;
  let line = 1;
  let recordLine = 1;
  let field = '';
  let record: string[] = [];
  let inQuotes = false;
  let quoteSeen = false;
  let sawAny = false;

  const finishRecord = (): UploadItem | undefined => {
    record.push(field);
    field = '';
    const cells = record;
    record = [];
    const where = `line ${recordLine}`;
    if (cells.length === 1 && cells[0].trim() === '') return undefined; // a blank line
    if (!header) {
      header = cells.map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());
      const seen = new Set<string>();
      for (const name of header) {
        if (!CSV_COLUMNS.has(name)) throw new UploadShapeError('line 1', `unknown column "${name}" (columns: ${[...CSV_COLUMNS].join(', ')})`);
        if (seen.has(name)) throw new UploadShapeError('line 1', `column "${name}" appears twice`);
        seen.add(name);
      }
      const missing = CSV_REQUIRED.filter((c) => !seen.has(c));
      if (missing.length) throw new UploadShapeError('line 1', `the header row lacks ${missing.join(', ')}`);
      return undefined;
    }
    if (cells.length !== header.length) return { where, unreadable: `${cells.length} cells where the header has ${header.length}` };
    const value = new Map<string, unknown>();
    header.forEach((name, i) => {
      const v = csvValue(name, cells[i]);
      if (v !== undefined) value.set(name, v);
    });
    return { where, value: Object.fromEntries(value) };
  };

  for await (const chunk of text) {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      sawAny = true;
      if (inQuotes) {
        if (c === 0x22) {
          field += chunk.slice(from, i);
          from = i + 1;
          inQuotes = false;
          quoteSeen = true;
        } else if (c === 0x0a) line++;
        continue;
      }
      if (c === 0x22) {
        // "" inside a quoted field is one quote; a quote opening a field starts quoting.
        field += chunk.slice(from, i);
        if (quoteSeen) field += '"';
        from = i + 1;
        inQuotes = true;
        quoteSeen = false;
      } else if (c === 0x2c) {
        field += chunk.slice(from, i);
        from = i + 1;
        record.push(field);
        field = '';
        quoteSeen = false;
      } else if (c === 0x0a) {
        field += chunk.slice(from, i).replace(/\r$/, '');
        from = i + 1;
        quoteSeen = false;
        const item = finishRecord();
        if (item) yield item;
        line++;
        recordLine = line;
      } else {
        quoteSeen = false;
      }
    }
    field += chunk.slice(from);
  }
  if (inQuotes) throw new UploadShapeError(`line ${recordLine}`, 'a quoted cell is not closed');
  if (field !== '' || record.length > 0) {
    field = field.replace(/\r$/, '');
    const item = finishRecord();
    if (item) yield item;
  }
  if (!sawAny || !header) throw new UploadShapeError('line 1', 'the header row of field names is missing');
}
