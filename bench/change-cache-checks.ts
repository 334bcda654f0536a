/**
 * What keeping pages current costs the read cache while writes arrive, in-process and alone: a
 * `ChangeCache` holding flat and enriched pages (dependencies as the feed routes record them)
 * answers Zipf-drawn look-ups while a stream of change marks shaped like the `mixed` scenario's at
 * 200 writes/s arrives (per 4 writes: a post, leaving its activity's mark and two feed marks of
 * its own and its followers' feeds; two likes and a comment, each leaving a reaction mark and,
 * half-way to the next write, the mark of the personalization event the learner took from it). A page found stale is rebuilt (offered again with the same
 * dependencies). Reports nanoseconds per look-up and the hit rate.
 *
 *   node --import tsx bench/change-cache-checks.ts [--other path/to/change-cache.ts] [--rounds 6]
 *
 * With `--other`, a second implementation of `ChangeCache` (say, a base tree's) runs the same
 * stream in alternating rounds, and both must give the same hits and misses.
 */
import { option } from './harness.js';
import type { ChangeMarks, ChangesSince } from '../src/ports/change-marks.js';
import { ChangeCache } from '../src/services/change-cache.js';
import { Rng, ZipfSampler } from './graph.js';

type CacheClass = new (maxBytes: number, mark: (() => string) | null, changes: ChangeMarks, sizeOf: (v: Buffer) => number) => ChangeCache<Buffer>;

/** Marks in memory, read from a position by binary search (the log's own cost kept small). */
class Marks implements ChangeMarks {
  readonly seqs: number[] = [];
  readonly keys: (readonly string[])[] = [];
  last = 0;
  async position(): Promise<number> {
    return this.last;
  }
  async changesSince(after: number): Promise<ChangesSince> {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid] <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < this.seqs.length; i++) for (const k of this.keys[i]) out.push(k);
    return { position: this.last, keys: out, complete: true };
  }
  async record(keys: readonly string[]): Promise<number> {
    this.seqs.push(++this.last);
    this.keys.push(keys);
    return this.last;
  }
}

const PAGES = 4_000;
const ACTIVITIES = 5_000;
const USERS = 7_000;
const LOOKUPS_PER_WRITE = 85; // about 17,000 reads/s against 200 writes/s
const WRITES = 2_000;

interface Page {
  key: string;
  deps: string[];
}

function world(seed: number): { pages: Page[]; recent: number[] } {
  const rng = new Rng(seed);
  const act = () => ACTIVITIES - 1 - Math.min(ACTIVITIES - 1, Math.floor(-Math.log(1 - rng.next()) * 600));
  const pages: Page[] = [];
  for (let p = 0; p < PAGES; p++) {
    const enriched = p % 2 === 1;
    const reader = p >> 1;
    const deps = ['*|1', `f|1|timeline:${reader}`];
    for (let i = 0; i < 25; i++) {
      const a = act();
      deps.push(`a|1|${a}`);
      if (enriched) deps.push(`n|1|${a}`, `u|1|${a % USERS}`, `o|1|post|${a}`);
    }
    pages.push({ key: `${enriched ? 'enrich/' : ''}feed/timeline/${reader}`, deps });
  }
  return { pages, recent: Array.from({ length: 1_500 }, (_, i) => ACTIVITIES - 1500 + i) };
}

async function run(Impl: CacheClass, seed: number): Promise<{ ns_per_lookup: number; hits: number; misses: number }> {
  const { pages, recent } = world(seed);
  const marks = new Marks();
  const cache = new Impl(1 << 30, () => String(marks.last), marks, (b) => b.length);
  const body = Buffer.alloc(64);
  const at = { position: 0 };
  for (const p of pages) {
    await cache.get(p.key, at);
    await cache.set(p.key, at.position, p.deps, body);
  }
  const rng = new Rng(seed + 1);
  const zipf = new ZipfSampler(PAGES, 1);
  let nextPost = ACTIVITIES;
  let hits = 0;
  let misses = 0;
  const t0 = process.hrtime.bigint();
  for (let w = 0; w < WRITES; w++) {
    const step = w % 4;
    if (step === 0) {
      const id = nextPost++;
      await marks.record([`a|1|${id}`]);
      await marks.record([`f|1|user:${rng.int(USERS)}`]);
      const followers = Array.from({ length: 80 }, () => `f|1|timeline:${rng.int(USERS)}`);
      await marks.record(followers);
    } else {
      const a = recent[rng.int(recent.length)];
      await marks.record([`n|1|${a}`, `r|1|x${w}`]);
    }
    for (let i = 0; i < LOOKUPS_PER_WRITE; i++) {
      // The personalization event a reaction leaves is recorded later, by the learner's round.
      if (step !== 0 && i === LOOKUPS_PER_WRITE >> 1) await marks.record(['s|1', `w|1|${rng.int(USERS)}`]);
      const p = pages[zipf.draw(rng)];
      const hit = await cache.get(p.key, at);
      if (hit !== undefined) hits++;
      else {
        misses++;
        await cache.set(p.key, at.position, p.deps, body);
      }
    }
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns_per_lookup: Math.round(ns / (WRITES * LOOKUPS_PER_WRITE)), hits, misses };
}

const rounds = Number(option('rounds') ?? 6);
const otherPath = option('other');
const impls: [string, CacheClass][] = [['this tree', ChangeCache as unknown as CacheClass]];
if (otherPath !== undefined) impls.push([otherPath, ((await import(otherPath)) as { ChangeCache: CacheClass }).ChangeCache]);
const results = new Map<string, number[]>(impls.map(([n]) => [n, []]));
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? impls : [...impls].reverse();
  const outcomes: string[] = [];
  for (const [name, Impl] of order) {
    const res = await run(Impl, 42 + r);
    results.get(name)!.push(res.ns_per_lookup);
    outcomes.push(`${res.hits}/${res.misses}`);
    console.log(`round ${r + 1} ${name}: ${res.ns_per_lookup} ns per look-up, hits ${res.hits}, misses ${res.misses} (hit rate ${(res.hits / (res.hits + res.misses)).toFixed(3)})`);
  }
  if (new Set(outcomes).size > 1) throw new Error(`the implementations disagree on hits and misses: ${outcomes.join(' vs ')}`);
}
for (const [name, xs] of results) {
  const s = [...xs].sort((a, b) => a - b);
  console.log(`${name}: median ${s[Math.floor(s.length / 2)]} ns per look-up (rounds ${xs.join(', ')})`);
}
