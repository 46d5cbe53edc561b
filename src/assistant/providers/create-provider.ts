import type { Config } from '../../config.js';
import type { Catalog } from '../catalog/catalog.js';
import type { CatalogIndex } from '../catalog/catalog-index.js';
import { CatalogProvider } from './catalog.js';
import { OpenAiProvider } from './openai.js';
import type { AssistantProvider } from './provider.js';

/** The provider `ASSISTANT_PROVIDER` names, answering from `catalog` (fixed or live). */
export function createProvider(config: { assistant: Pick<Config['assistant'], 'provider' | 'openai'> & Partial<Config['assistant']> }, catalog: Catalog | CatalogIndex): AssistantProvider {
  const { provider, openai } = config.assistant;
  switch (provider) {
    case 'catalog':
      return new CatalogProvider(catalog);
    case 'openai':
      // config.ts requires OPENAI_BASE_URL and OPENAI_MODEL when ASSISTANT_PROVIDER=openai.
      if (!openai.baseUrl || !openai.model) throw new Error('ASSISTANT_PROVIDER=openai needs OPENAI_BASE_URL and OPENAI_MODEL');
      return new OpenAiProvider(catalog, { baseUrl: openai.baseUrl, apiKey: openai.apiKey, model: openai.model });
  }
}
