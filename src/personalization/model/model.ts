/**
 * The personalization model of one app (personalization.md §6): an `engage` and a `negative`
 * hashed logistic head over the same features, each with its progressive validation, and the
 * objective that combines them into `value_score`. Snapshots are plain bytes (header, then each
 * head's weights and accumulators), so any store can keep them.
 */
import { DEFAULT_HEAD, FeatureVector, LogisticHead, sigmoid, type HeadSettings } from './logistic.js';
import { ProgressiveValidation, type ValidationSummary } from './validation.js';

export type HeadName = 'engage' | 'negative';
export const HEADS: readonly HeadName[] = ['engage', 'negative'];

/** Weights of the heads in `value_score` (the design's default: engage 1, negative −6). */
export interface Objective {
  readonly engage: number;
  readonly negative: number;
}
export const DEFAULT_OBJECTIVE: Objective = { engage: 1, negative: -6 };
/** Engagement alone: a baseline that shows what the negative head and the guardrails buy. */
export const ENGAGEMENT_ONLY: Objective = { engage: 1, negative: 0 };

export interface HeadScores {
  readonly pEngage: number;
  readonly pNegative: number;
}

export function valueScore(o: Objective, s: HeadScores): number {
  return o.engage * s.pEngage + o.negative * s.pNegative;
}

export class PersonalizationModel {
  readonly heads: Readonly<Record<HeadName, LogisticHead>>;
  /** Replaced on restore from a snapshot's saved sums (see `ProgressiveValidation.fromJSON`). */
  validation: Record<HeadName, ProgressiveValidation>;
  /** Examples learned since the model was created (snapshots carry it on). */
  updates: number;

  constructor(settings: HeadSettings = DEFAULT_HEAD, heads?: Record<HeadName, LogisticHead>, updates = 0) {
    this.heads = heads ?? { engage: new LogisticHead(settings), negative: new LogisticHead(settings) };
    this.validation = { engage: new ProgressiveValidation(), negative: new ProgressiveValidation() };
    this.updates = updates;
  }

  /** Learns one impression: did it draw an engagement, and negative feedback? */
  learn(f: FeatureVector, engaged: boolean, negative: boolean, weight = 1): void {
    const yE = engaged ? 1 : 0;
    const yN = negative ? 1 : 0;
    this.validation.engage.add(this.heads.engage.update(f, yE, weight), yE);
    this.validation.negative.add(this.heads.negative.update(f, yN, weight), yN);
    this.updates++;
  }

  score(f: FeatureVector): HeadScores {
    return this.scoreInto(f, { pEngage: 0, pNegative: 0 });
  }

  /**
   * {@link score} written into `out` (one object reused over many candidates): both heads' logits
   * in one pass over the features, each summed in feature order as {@link LogisticHead.logit} does.
   */
  scoreInto<T extends { pEngage: number; pNegative: number }>(f: FeatureVector, out: T): T {
    const e = this.heads.engage;
    const n = this.heads.negative;
    const we = e.weights;
    const wn = n.weights;
    const me = e.mask;
    const mn = n.mask;
    const idx = f.idx;
    const val = f.val;
    let ze = 0;
    let zn = 0;
    for (let k = 0; k < f.n; k++) {
      const i = idx[k];
      const v = val[k];
      ze += we[i & me] * v;
      zn += wn[i & mn] * v;
    }
    out.pEngage = sigmoid(ze);
    out.pNegative = sigmoid(zn);
    return out;
  }

  /** Whether reads may use it: both heads beat a constant base-rate predictor lately. */
  healthy(minExamples = 1000): boolean {
    return this.validation.engage.healthy(minExamples) && this.validation.negative.healthy(minExamples);
  }

  health(): Record<HeadName, ValidationSummary> {
    return { engage: this.validation.engage.summary(), negative: this.validation.negative.summary() };
  }

  /** The model as bytes: magic, version, dims, learning rate, l2, updates, then each head's weights and accumulators. */
  snapshot(): Buffer {
    const s = this.heads.engage.settings;
    const header = Buffer.alloc(40);
    header.write('RVPM', 0, 'latin1');
    header.writeUInt32LE(1, 4);
    header.writeUInt32LE(s.dims, 8);
    header.writeDoubleLE(s.learningRate, 12);
    header.writeDoubleLE(s.l2, 20);
    header.writeDoubleLE(this.updates, 28);
    const parts: Buffer[] = [header];
    for (const h of HEADS) {
      parts.push(Buffer.from(this.heads[h].weights.buffer, this.heads[h].weights.byteOffset, this.heads[h].weights.byteLength));
      parts.push(Buffer.from(this.heads[h].accum.buffer, this.heads[h].accum.byteOffset, this.heads[h].accum.byteLength));
    }
    return Buffer.concat(parts);
  }

  static restore(bytes: Uint8Array): PersonalizationModel {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (b.length < 40 || b.toString('latin1', 0, 4) !== 'RVPM' || b.readUInt32LE(4) !== 1) throw new Error('not a personalization model snapshot');
    const dims = b.readUInt32LE(8);
    const settings: HeadSettings = { dims, learningRate: b.readDoubleLE(12), l2: b.readDoubleLE(20) };
    const updates = b.readDoubleLE(28);
    if (b.length !== 40 + HEADS.length * 2 * dims * 4) throw new Error('personalization model snapshot has the wrong size');
    const arr = (k: number) => {
      const out = new Float32Array(dims);
      out.set(new Float32Array(b.buffer.slice(b.byteOffset + 40 + k * dims * 4, b.byteOffset + 40 + (k + 1) * dims * 4)));
      return out;
    };
    const heads = { engage: new LogisticHead(settings, arr(0), arr(1)), negative: new LogisticHead(settings, arr(2), arr(3)) };
    return new PersonalizationModel(settings, heads, updates);
  }
}
