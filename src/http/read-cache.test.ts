import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryChangeLog, MemoryChangeMarks } from '../adapters/memory/memory-change-marks.js';
import { ReadCache } from './read-cache.js';

/** A cache over in-memory change marks; `write` records a mark as a store's write would. */
function setup(bytes = 1 << 20, keep = 4096) {
  const marks = new MemoryChangeMarks(new MemoryChangeLog(keep));
  const cache = new ReadCache(bytes, () => String(marks.log.last), marks);
  const at = { position: 0 };
  return {
    cache,
    write: (...keys: string[]) => marks.record(keys),
    /** Looks `key` up; on a miss, "builds" `body` from `deps` and offers it. */
    read: async (key: string, deps: string[], body: string, during?: () => Promise<unknown>) => {
      const hit = await cache.get(key, at);
      if (hit !== undefined) return { hit: true, body: hit.toString() };
      const builtAt = at.position;
      await during?.();
      await cache.set(key, builtAt, deps, Buffer.from(body));
      return { hit: false, body };
    },
  };
}

test('a write drops exactly the bodies built from what it changed', async () => {
  const c = setup();
  await c.read('ann', ['f|ann', 'a|1'], 'ann-page');
  await c.read('bob', ['f|bob', 'a|2'], 'bob-page');
  await c.read('cat', ['f|cat', 'a|1'], 'cat-page');
  assert.equal(c.cache.size, 3);
  await c.write('a|1'); // e.g. an update of activity 1, shown in ann's and cat's feeds
  assert.deepEqual(await c.read('bob', ['f|bob', 'a|2'], 'x'), { hit: true, body: 'bob-page' });
  assert.equal((await c.read('ann', ['f|ann', 'a|1'], 'ann-2')).hit, false);
  assert.equal((await c.read('cat', ['f|cat', 'a|1'], 'cat-2')).hit, false);
  assert.deepEqual(await c.read('ann', ['f|ann', 'a|1'], 'x'), { hit: true, body: 'ann-2' });
  await c.write('f|bob', 'u|zed');
  assert.equal((await c.read('bob', ['f|bob', 'a|2'], 'bob-2')).hit, false);
  assert.deepEqual(await c.read('cat', ['f|cat', 'a|1'], 'x'), { hit: true, body: 'cat-2' });
  const { hits, misses, invalidated, refused } = c.cache.counts;
  assert.deepEqual({ hits, misses, invalidated, refused }, { hits: 3, misses: 6, invalidated: 3, refused: 0 });
});

test('a body found current after other writes is still dropped by a later write of its own data', async () => {
  const c = setup();
  await c.read('ann', ['f|ann', 'a|1', 'a|2'], 'ann-page');
  await c.write('a|9');
  // Checked against the change of a|9 and found current: served, and taken as current there.
  assert.deepEqual(await c.read('ann', ['f|ann', 'a|1', 'a|2'], 'x'), { hit: true, body: 'ann-page' });
  assert.deepEqual(await c.read('ann', ['f|ann', 'a|1', 'a|2'], 'x'), { hit: true, body: 'ann-page' });
  await c.write('f|bob');
  await c.write('a|2');
  assert.equal((await c.read('ann', ['f|ann', 'a|1', 'a|2'], 'ann-2')).hit, false, 'the later change of a|2 drops it');
  assert.deepEqual(await c.read('ann', ['f|ann', 'a|1', 'a|2'], 'x'), { hit: true, body: 'ann-2' });
  // A write of a key it depends on, with the same position as writes it was checked against.
  await c.write('a|8', 'a|1');
  assert.equal((await c.read('ann', ['f|ann', 'a|1', 'a|2'], 'ann-3')).hit, false);
});

test('a body built while a write changed one of its dependencies is not kept; others are', async () => {
  const c = setup();
  await c.read('ann', ['f|ann'], 'old', () => c.write('f|ann'));
  assert.equal((await c.read('ann', ['f|ann'], 'new')).hit, false, 'the body built across the write was refused');
  assert.deepEqual(await c.read('ann', ['f|ann'], 'x'), { hit: true, body: 'new' });
  await c.read('bob', ['f|bob'], 'bob', () => c.write('f|ann'));
  assert.deepEqual(await c.read('bob', ['f|bob'], 'x'), { hit: true, body: 'bob' });
  assert.equal(c.cache.counts.refused, 1);
});

test('a cache that fell behind the kept marks drops everything', async () => {
  const c = setup(1 << 20, 8);
  await c.read('ann', ['f|ann'], 'ann');
  await c.read('bob', ['f|bob'], 'bob');
  // Many writes land before the next look (another process wrote them): none names ann or bob,
  // but the log no longer reaches back, so nothing can be trusted.
  for (let i = 0; i < 20; i++) await c.write(`f|other${i}`);
  assert.equal((await c.read('ann', ['f|ann'], 'ann-2')).hit, false);
  assert.equal((await c.read('bob', ['f|bob'], 'bob-2')).hit, false);
  assert.deepEqual(await c.read('ann', ['f|ann'], 'x'), { hit: true, body: 'ann-2' });
});

test('without change marks any write drops everything', async () => {
  let n = 0;
  const cache = new ReadCache(1 << 20, () => String(n));
  const at = { position: 0 };
  await cache.get('a', at);
  assert.ok(await cache.set('a', at.position, ['f|a'], Buffer.from('{"x":1}')));
  assert.equal((await cache.get('a', at))?.toString(), '{"x":1}');
  const builtAt = at.position;
  n++;
  assert.equal(await cache.get('a', at), undefined);
  assert.equal(await cache.set('b', builtAt, ['f|b'], Buffer.from('old')), false, 'built before the write');
  assert.equal(cache.size, 0);
});

test('a look-up while the marks are being read waits for them', async () => {
  const log = new MemoryChangeLog();
  const marks = new MemoryChangeMarks(log);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const slow = { ...marks, position: () => marks.position(), record: (k: readonly string[]) => marks.record(k), changesSince: async (after: number) => (await gate, marks.changesSince(after)) };
  const cache = new ReadCache(1 << 20, () => String(log.last), slow);
  const at = { position: 0 };
  await cache.get('ann', at);
  await cache.set('ann', at.position, ['f|ann'], Buffer.from('old'));
  await marks.record(['f|ann']);
  const first = cache.get('ann', { position: 0 });
  const second = cache.get('ann', { position: 0 }); // sees the mark unchanged since the first look began
  release();
  assert.equal(await first, undefined);
  assert.equal(await second, undefined, 'not answered from the stale body');
});

test('least recently used entries go first once over the byte budget; sizes stay exact', async () => {
  const body = 'x'.repeat(1000);
  const c = setup(4 * 1200 + 100); // room for four entries
  for (const k of ['a', 'b', 'c', 'd']) await c.read(k, [`f|${k}`], body);
  assert.equal(c.cache.size, 4);
  assert.equal((await c.read('a', ['f|a'], body)).hit, true); // a is now the most recently used
  await c.read('e', ['f|e'], body);
  assert.equal(c.cache.size, 4);
  assert.equal((await c.read('b', ['f|b'], body)).hit, false, 'b was the least recently used');
  assert.ok(c.cache.bytes <= 4 * 1200 + 100);
  // A write to an evicted body's dependency is harmless; the remaining bodies stay consistent.
  await c.write('f|c');
  assert.equal((await c.read('c', ['f|c'], body)).hit, false);
  const before = c.cache.bytes;
  await c.cache.set('a', Number.MAX_SAFE_INTEGER, ['f|a'], Buffer.from(body));
  assert.equal(c.cache.bytes, before, 'replacing a key keeps the byte count');
  assert.equal(await c.cache.set('big', Number.MAX_SAFE_INTEGER, [], Buffer.from('z'.repeat(5000))), false, 'a page over a quarter of the budget is not kept');
});

test('past its limit of remembered changes the cache drops what they made stale and keeps the rest', async () => {
  const c = setup(1 << 22, 1 << 20);
  await c.read('ann', ['f|ann', 'a|1'], 'ann');
  await c.read('bob', ['f|bob', 'a|2'], 'bob');
  // More distinct keys than the cache remembers, with one of ann's among them.
  for (let m = 0; m < 21; m++) await c.write(...Array.from({ length: 10_000 }, (_, i) => `a|x${m}-${i}`));
  await c.write('a|1');
  assert.equal((await c.read('ann', ['f|ann', 'a|1'], 'ann-2')).hit, false);
  assert.deepEqual(await c.read('bob', ['f|bob', 'a|2'], 'x'), { hit: true, body: 'bob' });
  await c.write('a|2');
  assert.equal((await c.read('bob', ['f|bob', 'a|2'], 'bob-2')).hit, false, 'a change after the compaction still counts');
  assert.deepEqual(await c.read('ann', ['f|ann', 'a|1'], 'x'), { hit: true, body: 'ann-2' });
});

test('without a local mark every look reads the marks: exact, and reads in flight share the next look', async () => {
  const marks = new MemoryChangeMarks(new MemoryChangeLog());
  let gate: (() => void) | null = null;
  let looks = 0;
  const slow = {
    position: () => marks.position(),
    record: (keys: readonly string[]) => marks.record(keys),
    async changesSince(after: number) {
      looks++;
      // The first look of the burst below waits until the test lets it go, as a round trip would.
      if (gate === null) await new Promise<void>((resolve) => (gate = resolve));
      return marks.changesSince(after);
    },
  };
  const cache = new ReadCache(1 << 20, null, slow);
  const at = { position: 0 };
  await cache.get('ann', at); // the first look takes the position
  gate = () => {};
  await cache.set('ann', at.position, ['f|ann'], Buffer.from('old'));
  assert.equal((await cache.get('ann', at))?.toString(), 'old', 'no write since: a hit');
  gate = null;
  looks = 0;
  const first = cache.get('ann', { position: 0 }); // its look begins now and waits
  await new Promise((r) => setImmediate(r));
  await marks.record(['f|ann']); // a write acknowledged after the first look began…
  const later = Array.from({ length: 5 }, () => cache.get('ann', { position: 0 })); // …and before these reads
  await new Promise((r) => setImmediate(r));
  (gate as unknown as () => void)();
  assert.ok([undefined, 'old'].includes((await first)?.toString()), 'the read that came before the write may see the page before it');
  for (const r of later) assert.equal(await r, undefined, 'every read after the write misses');
  assert.equal(looks, 2, 'the five later reads shared one look');
});

test('a change cache needs a change mark or change marks', () => {
  assert.throws(() => new ReadCache(1 << 20, null, null), /change mark/);
});

test('bodies sharing dependencies, evicted, replaced and rebuilt across writes: every hit equals a fresh build', async () => {
  // A small model of stored data: each dependency has a version that a write moves on; a "build"
  // of a key shows the versions of its dependencies, so a stale body differs from a fresh one.
  const version = new Map<string, number>();
  const fresh = (key: string, deps: string[]) => `${key}:${deps.map((d) => `${d}=${version.get(d) ?? 0}`).join(',')}`;
  let seed = 7;
  // A seeded generator (mulberry32): the same sequence on every run.
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  // Room for about six bodies: eviction runs all along.
  const c = setup(6 * 800);
  const depsOf = (key: string) => {
    const k = Number(key.slice(1));
    // Duplicates on purpose: a body may list a key twice.
    return [`f|${k}`, `a|${k % 4}`, `a|${(k * 3) % 5}`, `u|${k % 2}`, `a|${k % 4}`];
  };
  let hits = 0;
  for (let step = 0; step < 3000; step++) {
    const op = rnd(10);
    if (op < 3) {
      const keys = Array.from({ length: 1 + rnd(2) }, () => [`f|${rnd(12)}`, `a|${rnd(5)}`, `u|${rnd(2)}`][rnd(3)]);
      for (const k of keys) version.set(k, (version.get(k) ?? 0) + 1);
      await c.write(...keys);
      continue;
    }
    const key = `k${rnd(12)}`;
    const deps = depsOf(key);
    const hit = await c.cache.get(key, { position: 0 });
    if (hit !== undefined) {
      hits++;
      assert.equal(hit.toString().trimEnd(), fresh(key, deps), `step ${step}: a kept body equals a fresh build`);
      continue;
    }
    const at = { position: 0 };
    await c.cache.get(key, at);
    const body = fresh(key, deps);
    if (op === 9) {
      // A write of one of its dependencies lands during the build: the body must not be kept.
      const d = deps[rnd(deps.length)];
      version.set(d, (version.get(d) ?? 0) + 1);
      await c.write(d);
    }
    await c.cache.set(key, at.position, deps, Buffer.from(body.padEnd(200)));
  }
  assert.ok(hits > 300, `the cache served hits (${hits})`);
  assert.ok(c.cache.counts.refused > 0 && c.cache.counts.invalidated > 0);
  assert.ok(c.cache.bytes <= 6 * 800);
});
