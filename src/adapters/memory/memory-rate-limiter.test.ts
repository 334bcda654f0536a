import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryRateLimiter } from './memory-rate-limiter.js';

describe('MemoryRateLimiter', () => {
  it('allows `limit` requests per key and window, then refuses until the window ends', () => {
    const l = new MemoryRateLimiter();
    const t0 = 1_700_000_040_000; // a multiple of 60 s
    assert.deepEqual(l.hit('a', 2, 60_000, t0), { allowed: true, remaining: 1, resetMs: t0 + 60_000 });
    assert.deepEqual(l.hit('a', 2, 60_000, t0 + 10), { allowed: true, remaining: 0, resetMs: t0 + 60_000 });
    assert.deepEqual(l.hit('a', 2, 60_000, t0 + 59_999), { allowed: false, remaining: 0, resetMs: t0 + 60_000 });
    // Another key has its own count.
    assert.equal(l.hit('b', 2, 60_000, t0 + 20).allowed, true);
    // The next window starts afresh.
    assert.deepEqual(l.hit('a', 2, 60_000, t0 + 60_000), { allowed: true, remaining: 1, resetMs: t0 + 120_000 });
  });

  it('aligns windows to multiples of their length, so every process agrees on them', () => {
    const l = new MemoryRateLimiter();
    assert.equal(l.hit('k', 5, 1000, 12_345).resetMs, 13_000);
  });
});
