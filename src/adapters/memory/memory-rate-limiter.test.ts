import { rateLimiterContract } from '../../../test/contract/rate-limiter.contract.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';

// One process: both handles count on the same map.
rateLimiterContract('memory', async () => {
  const l = new MemoryRateLimiter();
  return { a: l, b: l, close: async () => {} };
});
