/**
 * The benchmark workload: a SNAP follow graph read from `../shared/datasets/` (a directed line
 * `u v` means u follows v, so followers(v) = in-degree(v)), and a seeded random number generator
 * for everything drawn from it, so runs are repeatable.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** The graphs the suite knows, by their `--graph` name. */
export const GRAPHS = {
  'wiki-vote': { file: 'wiki-Vote.txt.gz', undirected: false, title: 'wiki-Vote' },
  slashdot: { file: 'soc-Slashdot0902.txt.gz', undirected: false, title: 'soc-Slashdot0902' },
  facebook: { file: 'facebook_combined.txt.gz', undirected: true, title: 'ego-Facebook (both directions)' },
} as const;

export type GraphName = keyof typeof GRAPHS;

/** Where the datasets are: `RIVULET_DATASETS`, else `shared/datasets` beside the repository. */
export function datasetsDir(): string {
  return process.env.RIVULET_DATASETS ?? resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');
}

/**
 * A follow graph with nodes renumbered 0…n-1 (`label[i]` is the dataset's node id). Edges are in
 * compressed sparse rows both ways: `following(u)` are the nodes u follows, `followers(v)` the
 * nodes following v, each sorted ascending. Self-loops and duplicate edges are dropped.
 */
export class Graph {
  readonly name: GraphName;
  readonly title: string;
  readonly label: string[];
  readonly edges: number;
  readonly #outStart: Int32Array;
  readonly #out: Int32Array;
  readonly #inStart: Int32Array;
  readonly #in: Int32Array;

  constructor(name: GraphName, label: string[], src: Int32Array, dst: Int32Array) {
    this.name = name;
    this.title = GRAPHS[name].title;
    this.label = label;
    this.edges = src.length;
    [this.#outStart, this.#out] = csr(label.length, src, dst);
    [this.#inStart, this.#in] = csr(label.length, dst, src);
  }

  get nodes(): number {
    return this.label.length;
  }

  following(u: number): Int32Array {
    return this.#out.subarray(this.#outStart[u], this.#outStart[u + 1]);
  }

  followers(v: number): Int32Array {
    return this.#in.subarray(this.#inStart[v], this.#inStart[v + 1]);
  }

  outDegree(u: number): number {
    return this.#outStart[u + 1] - this.#outStart[u];
  }

  inDegree(v: number): number {
    return this.#inStart[v + 1] - this.#inStart[v];
  }

  /** Every edge as [follower, followed], grouped by follower. */
  *edgeList(): Generator<[number, number]> {
    for (let u = 0; u < this.nodes; u++) for (const v of this.following(u)) yield [u, v];
  }

  /** The node following the most others (the heaviest reader); the lowest index on a tie. */
  heaviestReader(): number {
    let best = 0;
    for (let u = 1; u < this.nodes; u++) if (this.outDegree(u) > this.outDegree(best)) best = u;
    return best;
  }

  /** The node with the most followers. */
  celebrity(): number {
    let best = 0;
    for (let v = 1; v < this.nodes; v++) if (this.inDegree(v) > this.inDegree(best)) best = v;
    return best;
  }
}

function csr(n: number, from: Int32Array, to: Int32Array): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  for (let i = 0; i < from.length; i++) start[from[i] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const out = new Int32Array(from.length);
  for (let i = 0; i < from.length; i++) out[fill[from[i]]++] = to[i];
  for (let i = 0; i < n; i++) out.subarray(start[i], start[i + 1]).sort();
  return [start, out];
}

/** Reads a graph file (gzipped text; `#` comment lines; two ids per line, tab or space separated). */
export function loadGraph(name: GraphName, dir = datasetsDir()): Graph {
  const spec = GRAPHS[name];
  const path = join(dir, spec.file);
  let text: string;
  try {
    text = gunzipSync(readFileSync(path)).toString('latin1');
  } catch (err) {
    throw new Error(`cannot read the ${name} graph at ${path} (set RIVULET_DATASETS to the datasets folder): ${(err as Error).message}`);
  }
  const index = new Map<string, number>();
  const label: string[] = [];
  const node = (id: string) => {
    let i = index.get(id);
    if (i === undefined) {
      i = label.length;
      index.set(id, i);
      label.push(id);
    }
    return i;
  };
  const seen = new Set<number>();
  const src: number[] = [];
  const dst: number[] = [];
  const add = (u: number, v: number) => {
    if (u === v) return;
    const key = u * 4_194_304 + v; // < 2^22 nodes per graph here; exact in a double
    if (seen.has(key)) return;
    seen.add(key);
    src.push(u);
    dst.push(v);
  };
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#') continue;
    const parts = line.trim().split(/\s+/);
    if (parts.length < 2) continue;
    const u = node(parts[0]);
    const v = node(parts[1]);
    add(u, v);
    if (spec.undirected) add(v, u);
  }
  if (label.length >= 4_194_304) throw new Error(`graph ${name} has too many nodes for this loader`);
  return new Graph(name, label, Int32Array.from(src), Int32Array.from(dst));
}

/** sfc32: a small, fast generator with a 128-bit state; `seed` fixes the whole sequence. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    let a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** `k` distinct items of `items`, in random order (partial Fisher–Yates on a copy). */
  sample<T>(items: readonly T[], k: number): T[] {
    const a = items.slice();
    const m = Math.min(k, a.length);
    for (let i = 0; i < m; i++) {
      const j = i + this.int(a.length - i);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a.slice(0, m);
  }
}

/** An index drawn with probability proportional to its weight, given the weights' running sums. */
function drawIndex(cum: Float64Array, rng: Rng): number {
  const x = rng.next() * cum[cum.length - 1];
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Draws ranks 0…n−1 by a Zipf law: rank r with probability ∝ 1 / (r + 1)^s. The few top ranks
 * take most draws and every rank can be drawn.
 */
export class ZipfSampler {
  readonly #cum: Float64Array;

  constructor(n: number, s = 1) {
    this.#cum = new Float64Array(n);
    let sum = 0;
    for (let r = 0; r < n; r++) {
      sum += 1 / Math.pow(r + 1, s);
      this.#cum[r] = sum;
    }
  }

  draw(rng: Rng): number {
    return drawIndex(this.#cum, rng);
  }
}

/** Draws authors with probability proportional to their follower count. */
export class AuthorSampler {
  readonly #cum: Float64Array;
  readonly #nodes: Int32Array;

  constructor(g: Graph) {
    const nodes: number[] = [];
    for (let v = 0; v < g.nodes; v++) if (g.inDegree(v) > 0) nodes.push(v);
    this.#nodes = Int32Array.from(nodes);
    this.#cum = new Float64Array(nodes.length);
    let sum = 0;
    nodes.forEach((v, i) => {
      sum += g.inDegree(v);
      this.#cum[i] = sum;
    });
  }

  draw(rng: Rng): number {
    return this.#nodes[drawIndex(this.#cum, rng)];
  }
}

/** The posting sequence of a run: `n` authors drawn ∝ followers from `seed`, with the fan-out they imply. */
export interface Workload {
  readonly authors: Int32Array;
  /** Σ followers over the posts: the follower-feed entries a full push fan-out writes. */
  readonly deliveries: number;
}

export function drawWorkload(g: Graph, n: number, seed: number): Workload {
  const rng = new Rng(seed);
  const sampler = new AuthorSampler(g);
  const authors = new Int32Array(n);
  let deliveries = 0;
  for (let i = 0; i < n; i++) {
    authors[i] = sampler.draw(rng);
    deliveries += g.inDegree(authors[i]);
  }
  return { authors, deliveries };
}

/** Nearest-rank percentile of ascending-sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
