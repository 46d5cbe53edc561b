import { afterEach } from 'vitest';
import { takeContractViolations } from './openapi-contract.js';

// Every response of an app built by createTestApp is checked against the OpenAPI document;
// a test whose responses break the contract fails here.
afterEach(() => {
  const violations = takeContractViolations();
  if (violations.length > 0) throw new Error(`responses that do not match the OpenAPI document:\n- ${violations.join('\n- ')}`);
});
