/**
 * Hashed logistic regression heads trained online with AdaGrad (personalization.md §6.1). A
 * feature is a bucket index (a hash of its namespaced name, masked to `dims`, a power of two) and a
 * value; a head is a weight vector and per-coordinate squared-gradient accumulators. Pure math: no
 * clock, no randomness.
 */

/** A sparse feature vector: `n` (bucket, value) pairs in reusable buffers. */
export class FeatureVector {
  idx: Int32Array;
  val: Float32Array;
  n = 0;
  constructor(capacity = 64) {
    this.idx = new Int32Array(capacity);
    this.val = new Float32Array(capacity);
  }
  clear(): void {
    this.n = 0;
  }
  /** Small enough to be inlined where features are encoded (growing is apart). */
  push(bucket: number, value: number): void {
    const n = this.n;
    if (n === this.idx.length) this.#grow();
    this.idx[n] = bucket;
    this.val[n] = value;
    this.n = n + 1;
  }
  #grow(): void {
    const idx = new Int32Array(this.n * 2);
    idx.set(this.idx);
    const val = new Float32Array(this.n * 2);
    val.set(this.val);
    this.idx = idx;
    this.val = val;
  }
  copy(): FeatureVector {
    const f = new FeatureVector(Math.max(1, this.n));
    f.idx.set(this.idx.subarray(0, this.n));
    f.val.set(this.val.subarray(0, this.n));
    f.n = this.n;
    return f;
  }
}

/** Clamp for logits, so probabilities stay strictly inside (0, 1) and log-loss finite. */
const MAX_LOGIT = 30;

export function sigmoid(z: number): number {
  const x = z > MAX_LOGIT ? MAX_LOGIT : z < -MAX_LOGIT ? -MAX_LOGIT : z;
  return 1 / (1 + Math.exp(-x));
}

export interface HeadSettings {
  /** Number of buckets, a power of two (default 2^18). */
  readonly dims: number;
  /** AdaGrad's base learning rate. */
  readonly learningRate: number;
  /** L2 penalty applied to the touched coordinates at each step. */
  readonly l2: number;
}

export const DEFAULT_HEAD: HeadSettings = { dims: 1 << 18, learningRate: 0.05, l2: 1e-6 };

/** One logistic head: `p = sigmoid(Σ w[i]·x_i)`, trained one example at a time. */
export class LogisticHead {
  readonly weights: Float32Array;
  readonly accum: Float32Array;
  readonly mask: number;
  constructor(
    readonly settings: HeadSettings = DEFAULT_HEAD,
    weights?: Float32Array,
    accum?: Float32Array,
  ) {
    const d = settings.dims;
    if (!Number.isInteger(d) || d < 2 || (d & (d - 1)) !== 0) throw new Error(`head dims must be a power of two, got ${d}`);
    this.mask = d - 1;
    this.weights = weights ?? new Float32Array(d);
    this.accum = accum ?? new Float32Array(d);
    if (this.weights.length !== d || this.accum.length !== d) throw new Error('head state does not match its dims');
  }

  logit(f: FeatureVector): number {
    let z = 0;
    const w = this.weights;
    for (let k = 0; k < f.n; k++) z += w[f.idx[k] & this.mask] * f.val[k];
    return z;
  }

  predict(f: FeatureVector): number {
    return sigmoid(this.logit(f));
  }

  /**
   * One AdaGrad step on example (f, y) with importance `weight`; returns the prediction made
   * before the step (for progressive validation).
   */
  update(f: FeatureVector, y: number, weight = 1): number {
    const p = this.predict(f);
    const g = (p - y) * weight;
    const { weights: w, accum: a } = this;
    const lr = this.settings.learningRate;
    const l2 = this.settings.l2;
    for (let k = 0; k < f.n; k++) {
      const i = f.idx[k] & this.mask;
      const gi = g * f.val[k] + l2 * w[i];
      a[i] += gi * gi;
      w[i] -= (lr * gi) / Math.sqrt(a[i] + 1e-8);
    }
    return p;
  }
}
