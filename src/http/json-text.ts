import type { Response } from 'express';

/**
 * Sends a JSON text as `res.json` sends the value it is the text of, in this app (no ETag, no
 * JSON replacer or spaces): `Content-Type: application/json; charset=utf-8`, `Content-Length`,
 * the status already set (200 unless), and the body. The body goes to `end` as a string, which
 * Node joins to the head in one string, where `res.send` parses back the Content-Type it just
 * set and copies a body of 1000 characters or more into a Buffer of its own. Not for HEAD or
 * 204/304 answers, which carry no body.
 */
export function sendJsonText(res: Response, json: string): void {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(json, 'utf8')));
  res.end(json, 'utf8');
}
