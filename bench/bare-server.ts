/**
 * The yardstick of the HTTP bench: a bare Express 5 route that answers POST with a fixed JSON
 * body (given in BARE_BODY), with express.json() parsing the request like the real route.
 */
import express from 'express';

const body = JSON.parse(process.env.BARE_BODY ?? '{}') as unknown;
const app = express();
app.post('/api/v1/assistant/query', express.json({ limit: 16_384 }), (_req, res) => {
  res.json(body);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ msg: 'bare server listening', port: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
