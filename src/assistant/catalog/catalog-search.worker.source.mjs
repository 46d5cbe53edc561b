// The search thread's entry when the API runs from its TypeScript sources (npm start, npm test):
// worker threads on Node 20 do not inherit tsx's loader, so the thread loads the module through
// tsx's API. A build runs catalog-search.worker.js directly.
import { tsImport } from 'tsx/esm/api';

const mod = await tsImport('./catalog-search.worker.ts', import.meta.url);
export default mod.default;
