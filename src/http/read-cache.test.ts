import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadCache } from './read-cache.js';

function withMark(): { cache: (bytes: number) => ReadCache; bump: () => void } {
  let n = 0;
  return { cache: (bytes) => new ReadCache(bytes, () => String(n)), bump: () => void n++ };
}

test('a body is served while the change mark stays and dropped when it moves', () => {
  const m = withMark();
  const c = m.cache(1 << 20);
  const at = c.mark();
  const b = (text: string) => Buffer.from(text);
  const got = (k: string) => c.get(k, { mark: '' })?.toString();
  c.set('a', at, b('{"x":1}'));
  assert.equal(got('a'), '{"x":1}');
  m.bump();
  assert.equal(got('a'), undefined);
  assert.equal(c.size, 0);
  assert.equal(c.bytes, 0);
  // One hit (before the write), one miss (after it).
  assert.deepEqual(c.counts, { hits: 1, misses: 1 });
});

test('a body built before a write landed is not kept', () => {
  const m = withMark();
  const c = m.cache(1 << 20);
  const at = c.mark();
  const b = (text: string) => Buffer.from(text);
  const got = (k: string) => c.get(k, { mark: '' })?.toString();
  m.bump(); // a write lands while the body is being built
  c.set('a', at, b('old'));
  assert.equal(got('a'), undefined);
});

test('least recently used entries go first once over the byte budget', () => {
  const m = withMark();
  const body = 'x'.repeat(1000);
  const c = m.cache(4 * 1100 + 100); // room for four entries of ~1,098 bytes
  const at = c.mark();
  const b = (text: string) => Buffer.from(text);
  const got = (k: string) => c.get(k, { mark: '' })?.toString();
  for (const k of ['a', 'b', 'c', 'd']) c.set(k, at, b(body));
  assert.equal(c.size, 4);
  assert.equal(got('a'), body); // a is now the most recently used
  c.set('e', at, b(body));
  assert.equal(got('b'), undefined, 'b was the least recently used');
  for (const k of ['a', 'c', 'd', 'e']) assert.equal(got(k), body);
  assert.ok(c.bytes <= 4 * 1100 + 100);
});

test('replacing a key keeps the byte count exact; a page larger than a quarter of the budget is not kept', () => {
  const m = withMark();
  const c = m.cache(4_000);
  const at = c.mark();
  const b = (text: string) => Buffer.from(text);
  const got = (k: string) => c.get(k, { mark: '' })?.toString();
  c.set('a', at, b('x'.repeat(100)));
  const one = c.bytes;
  c.set('a', at, b('y'.repeat(100)));
  assert.equal(c.bytes, one);
  c.set('big', at, b('z'.repeat(2000)));
  assert.equal(got('big'), undefined);
  assert.equal(got('a'), 'y'.repeat(100));
});
