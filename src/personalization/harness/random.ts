/**
 * Seeded randomness for the evaluation harness (personalization.md §11): streams built on the
 * core's mulberry32 generator, a few distributions, and a stateless integer hash for the
 * counterfactual labels (common random numbers: every policy is judged on the same coin flips).
 */
import { seededRandom, seedOf } from '../../core/ranking/seeded-random.js';

/** A seeded random stream with the distributions the generator uses. */
export class Rng {
  readonly next: () => number;
  constructor(seed: number, stream: string) {
    this.next = seededRandom(seedOf(`${seed}\u0000${stream}`));
  }
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Standard normal (Box–Muller; one draw per call, the pair's second value is dropped). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** Lognormal with the given median and log-scale sigma. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
  exponential(): number {
    return -Math.log(1 - this.next());
  }
  /** Poisson (Knuth's method; the means used here are small). */
  poisson(mean: number): number {
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const l = Math.exp(-mean);
    let k = 0;
    let p = 1;
    for (;;) {
      p *= this.next();
      if (p <= l) return k;
      k++;
    }
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /**
   * `k` distinct indices drawn with probability ∝ `weights`, without replacement (Efraimidis–
   * Spirakis keys u^(1/w)); zero weights are never drawn.
   */
  weightedSample(weights: ArrayLike<number>, k: number): number[] {
    const keyed: [number, number][] = [];
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (w > 0) keyed.push([Math.log(1 - this.next()) / w, i]);
    }
    keyed.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    return keyed.slice(0, k).map((x) => x[1]);
  }
}

/** A stateless 32-bit hash of integers → uniform in [0, 1) (murmur3's finaliser over a running mix). */
export function hashUniform(a: number, b: number, c: number, d: number): number {
  let h = 0x9e3779b9 ^ a;
  for (const x of [b, c, d]) {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h = (h ^ (h >>> 16) ^ x) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
