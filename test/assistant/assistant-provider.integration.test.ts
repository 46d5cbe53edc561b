import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadCatalog } from '../../src/assistant/catalog/catalog.js';
import { CatalogProvider } from '../../src/assistant/providers/catalog.js';
import { OpenAiProvider } from '../../src/assistant/providers/openai.js';
import { assistantProviderContract } from '../contracts/assistant-provider.contract.js';

assistantProviderContract('catalog', async () => {
  const catalog = await loadCatalog(undefined);
  return { provider: new CatalogProvider(catalog), catalog, dispose: async () => {} };
});

// A cooperative chat-completions server: picks every candidate it was given, in order.
assistantProviderContract('openai (local chat-completions server)', async () => {
  const catalog = await loadCatalog(undefined);
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(raw) as { messages: { role: string; content: string }[] };
      const { candidates } = JSON.parse(body.messages[1].content) as { candidates: { id: string; name: string }[] };
      const content = JSON.stringify({ answer: `The best match is the ${candidates[0].name}.`, productIds: candidates.map((c) => c.id) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return {
    provider: new OpenAiProvider(catalog, { baseUrl, model: 'local-test-model' }),
    catalog,
    dispose: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});
