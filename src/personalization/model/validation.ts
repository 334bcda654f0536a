/**
 * Progressive validation of an online head (personalization.md §6.2): every example is predicted
 * before the head learns from it, so the running log-loss is an honest out-of-sample estimate.
 * Keeps the total and a recent (exponentially weighted) log-loss, the same for a constant
 * base-rate predictor, and a 10-bucket calibration table.
 */

export interface ValidationSummary {
  readonly examples: number;
  readonly positives: number;
  readonly log_loss: number;
  readonly recent_log_loss: number;
  /** Log-loss of always predicting the running base rate, recent window. */
  readonly recent_base_log_loss: number;
  /** Per predicted-probability decile: examples, mean prediction, observed rate. */
  readonly calibration: readonly { readonly n: number; readonly predicted: number; readonly observed: number }[];
}

/** {@link ProgressiveValidation} as plain data. */
export interface ValidationData {
  readonly halfLife: number;
  readonly examples: number;
  readonly positives: number;
  readonly lossSum: number;
  readonly recent: number;
  readonly recentBase: number;
  readonly recentWeight: number;
  readonly buckets: readonly [readonly number[], readonly number[], readonly number[]];
}

const EPS = 1e-7;

function logLoss(p: number, y: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return y > 0 ? -Math.log(q) : -Math.log(1 - q);
}

export class ProgressiveValidation {
  private examples = 0;
  private positives = 0;
  private lossSum = 0;
  private recent = 0;
  private recentBase = 0;
  private recentWeight = 0;
  private readonly bucketN = new Float64Array(10);
  private readonly bucketP = new Float64Array(10);
  private readonly bucketY = new Float64Array(10);

  /** `halfLife`: how many examples the recent log-loss halves over. */
  constructor(private readonly halfLife = 20_000) {}

  add(p: number, y: number): void {
    const base = this.examples === 0 ? 0.5 : (this.positives + 0.5) / (this.examples + 1);
    const l = logLoss(p, y);
    this.examples++;
    if (y > 0) this.positives++;
    this.lossSum += l;
    const keep = Math.pow(0.5, 1 / this.halfLife);
    this.recent = this.recent * keep + l;
    this.recentBase = this.recentBase * keep + logLoss(base, y);
    this.recentWeight = this.recentWeight * keep + 1;
    const b = Math.min(9, Math.floor(p * 10));
    this.bucketN[b]++;
    this.bucketP[b] += p;
    this.bucketY[b] += y > 0 ? 1 : 0;
  }

  /** Healthy once it has seen `minExamples` and its recent log-loss beats the base rate's. */
  healthy(minExamples = 1000): boolean {
    return this.examples >= minExamples && this.recent < this.recentBase;
  }

  /** The running sums as plain data (model snapshots carry them, so health survives a restart). */
  toJSON(): ValidationData {
    return {
      halfLife: this.halfLife,
      examples: this.examples,
      positives: this.positives,
      lossSum: this.lossSum,
      recent: this.recent,
      recentBase: this.recentBase,
      recentWeight: this.recentWeight,
      buckets: [Array.from(this.bucketN), Array.from(this.bucketP), Array.from(this.bucketY)],
    };
  }

  static fromJSON(d: ValidationData): ProgressiveValidation {
    const v = new ProgressiveValidation(d.halfLife);
    v.examples = d.examples;
    v.positives = d.positives;
    v.lossSum = d.lossSum;
    v.recent = d.recent;
    v.recentBase = d.recentBase;
    v.recentWeight = d.recentWeight;
    v.bucketN.set(d.buckets[0]);
    v.bucketP.set(d.buckets[1]);
    v.bucketY.set(d.buckets[2]);
    return v;
  }

  summary(): ValidationSummary {
    const w = Math.max(this.recentWeight, 1e-12);
    return {
      examples: this.examples,
      positives: this.positives,
      log_loss: this.examples === 0 ? 0 : this.lossSum / this.examples,
      recent_log_loss: this.recent / w,
      recent_base_log_loss: this.recentBase / w,
      calibration: Array.from(this.bucketN, (n, i) => ({ n, predicted: n === 0 ? 0 : this.bucketP[i] / n, observed: n === 0 ? 0 : this.bucketY[i] / n })),
    };
  }
}
