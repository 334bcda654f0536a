/**
 * The online learner of one app (personalization.md §6.2), pure: the caller reads events from the
 * log in `seq` order, loads the facts and reader signals they need in batches, and hands them in
 * with the time. For each impression the features are computed when the learner first sees it
 * (as of the impression, before its engagement reaches the example) and held until its engagement
 * or negative feedback arrives, or the join window closes: an engagement or negative feedback
 * labels the example and steps the heads at once; an impression with neither is a negative example
 * for both heads once the window has passed; an engagement without a logged impression counts as
 * both. Exposure, popularity, co-engagement and seen counts go to the {@link SignalState}.
 * Snapshots carry the model, the state and the pending impressions, so a restart loads the last
 * snapshot and replays the log after its `seq`.
 */
import type { EventKind } from '../../ports/event-log.js';
import { encodeFeatures, hashOf, type ItemFacts, type PairSignals } from '../model/features.js';
import { FeatureVector, type HeadSettings } from '../model/logistic.js';
import { PersonalizationModel } from '../model/model.js';
import { ProgressiveValidation, type ValidationData } from '../model/validation.js';
import { SignalState, type SignalStateData } from './signal-state.js';

/** What the learner needs of one logged event. */
export interface LearnEvent {
  readonly seq: number;
  readonly user: string;
  readonly kind: EventKind;
  readonly label: string;
  readonly activity: string | null;
  readonly weight: number;
  /** When it happened, µs. */
  readonly trackedUs: number;
}

interface Pending {
  readonly idx: number[];
  readonly val: number[];
  readonly tUs: number;
  engaged: boolean;
  negative: boolean;
}

export interface LearnerStats {
  readonly seq: number;
  readonly updates: number;
  readonly pending: number;
  readonly items: number;
}

export class Learner {
  /** The last event seq learned from. */
  seq = 0;
  readonly #pending = new Map<string, Pending>();
  readonly #fv = new FeatureVector();

  constructor(
    readonly model: PersonalizationModel,
    readonly state: SignalState,
    readonly joinWindowUs: number,
  ) {}

  static create(head: HeadSettings, joinWindowS: number): Learner {
    return new Learner(new PersonalizationModel(head), new SignalState(), joinWindowS * 1e6);
  }

  /**
   * Learns from `events` (ascending `seq`, each after {@link seq}). `facts` holds the facts of
   * every activity they name that exists; `signals` gives the reader's signals for an (user,
   * activity) pair as of now.
   */
  observe(events: readonly LearnEvent[], facts: ReadonlyMap<string, ItemFacts>, signals: (user: string, activity: string) => PairSignals): void {
    for (const e of events) {
      if (e.seq <= this.seq) continue;
      this.seq = e.seq;
      if (e.activity === null) continue;
      const f = facts.get(e.activity);
      if (f === undefined) continue;
      this.state.noteItem(e.activity, f.author, f.timeS, f.tags);
      const key = `${e.user}\u0000${e.activity}`;
      switch (e.kind) {
        case 'impression': {
          if (this.#pending.has(key)) {
            this.state.impression(e.user, e.activity);
            break;
          }
          // Features as of the impression: the item's exposure before it.
          encodeFeatures(this.#fv, hashOf(e.user), e.user, f, signals(e.user, e.activity), e.trackedUs / 1e6);
          this.state.impression(e.user, e.activity);
          this.#pending.set(key, {
            idx: Array.from(this.#fv.idx.subarray(0, this.#fv.n)),
            val: Array.from(this.#fv.val.subarray(0, this.#fv.n)),
            tUs: e.trackedUs,
            engaged: false,
            negative: false,
          });
          break;
        }
        case 'engage':
        case 'long_dwell':
        case 'negative': {
          const positive = e.kind !== 'negative';
          if (positive) this.state.engage(e.user, e.activity, e.weight, e.trackedUs / 1e6);
          else this.state.negative(e.user, e.activity, e.label);
          const p = this.#pending.get(key);
          if (p !== undefined) {
            // Labelled now, so the heads see the feedback at once; a later label of the same
            // impression (a like after a click) is not a second example.
            this.#pending.delete(key);
            this.#learn(p.idx, p.val, positive || p.engaged, !positive || p.negative);
          } else {
            encodeFeatures(this.#fv, hashOf(e.user), e.user, f, signals(e.user, e.activity), e.trackedUs / 1e6);
            this.model.learn(this.#fv, positive, !positive);
          }
          break;
        }
        case 'stated':
          break;
      }
    }
  }

  #learn(idx: readonly number[], val: readonly number[], engaged: boolean, negative: boolean): void {
    const fv = this.#fv;
    fv.clear();
    for (let i = 0; i < idx.length; i++) fv.push(idx[i], val[i]);
    this.model.learn(fv, engaged, negative);
  }

  /** Closes the join window of impressions older than it at `nowUs`: each is a negative example. Returns how many. */
  expire(nowUs: number): number {
    let n = 0;
    for (const [key, p] of this.#pending) {
      if (nowUs - p.tUs < this.joinWindowUs) continue;
      this.#pending.delete(key);
      this.#learn(p.idx, p.val, p.engaged, p.negative);
      n++;
    }
    return n;
  }

  stats(): LearnerStats {
    return { seq: this.seq, updates: this.model.updates, pending: this.#pending.size, items: this.state.items.size };
  }

  /** The learner's state besides the model, as bytes (JSON). */
  stateBytes(): Buffer {
    const data: LearnerStateData = {
      seq: this.seq,
      joinWindowUs: this.joinWindowUs,
      validation: { engage: this.model.validation.engage.toJSON(), negative: this.model.validation.negative.toJSON() },
      state: this.state.toJSON(),
      pending: [...this.#pending],
    };
    return Buffer.from(JSON.stringify(data));
  }

  static restore(model: Uint8Array, state: Uint8Array): Learner {
    const d = JSON.parse(Buffer.from(state.buffer, state.byteOffset, state.byteLength).toString('utf8')) as LearnerStateData;
    const l = new Learner(PersonalizationModel.restore(model), SignalState.fromJSON(d.state), d.joinWindowUs);
    l.seq = d.seq;
    l.model.validation = { engage: ProgressiveValidation.fromJSON(d.validation.engage), negative: ProgressiveValidation.fromJSON(d.validation.negative) };
    for (const [k, p] of d.pending) l.#pending.set(k, p);
    return l;
  }
}

interface LearnerStateData {
  readonly seq: number;
  readonly joinWindowUs: number;
  readonly validation: { readonly engage: ValidationData; readonly negative: ValidationData };
  readonly state: SignalStateData;
  readonly pending: [string, Pending][];
}
