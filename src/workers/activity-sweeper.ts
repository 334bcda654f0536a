import type { Logger } from 'pino';
import type { Store } from '../ports/store.js';

/** Activities looked at per sweep step (one short transaction each). */
export const SWEEP_STEP = 500;
/** Pause between two steps of a pass (ms), so that requests and fan-out get the store in between. */
const STEP_PAUSE_MS = 20;
/**
 * The least time (ms) an activity found unheld is kept, whatever the retention. A write commits
 * its activity first and its own feeds' entries right after (see runWrite): a pass that looks in
 * between finds the new activity held by nothing, and with no retention it would delete an
 * activity whose write is about to be acknowledged. Found unheld, it is only marked; a later pass
 * deletes it if it is still unheld this long after.
 */
export const MIN_UNHELD_MS = 5_000;

export interface ActivitySweeperOptions {
  /**
   * How long an activity no feed holds is kept before it is deleted (ms; 0: at the first pass at
   * least {@link MIN_UNHELD_MS} after a pass found it unheld).
   */
  readonly retentionMs: number;
  /** Overrides {@link MIN_UNHELD_MS} (tests). */
  readonly minUnheldMs?: number;
  /** Time between the start of two passes over every activity (ms). */
  readonly everyMs: number;
}

/**
 * Runs the store's activity sweep ({@link Store.sweepActivities}) in the background: a pass over
 * every app's activities in bounded steps, then again every `everyMs`. Runs beside the fan-out
 * worker (in the server, or in `rivulet worker` / the primary of `serve --workers N`); one process
 * sweeping is enough, and two are harmless (each step is its own transaction).
 */
export class ActivitySweeper {
  readonly #store: Store;
  readonly #apps: readonly string[];
  readonly #log: Logger;
  readonly #opts: ActivitySweeperOptions;
  #stopped = true;
  /** Set by stop(): a pass in progress ends after its current step. */
  #stopping = false;
  #timer: NodeJS.Timeout | null = null;
  #idle: Promise<void> = Promise.resolve();

  constructor(store: Store, apps: readonly string[], log: Logger, opts: ActivitySweeperOptions) {
    this.#store = store;
    this.#apps = apps;
    this.#log = log;
    this.#opts = opts;
  }

  start(): void {
    if (this.#store.sweepActivities === undefined || !this.#stopped) return;
    this.#stopped = false;
    this.#stopping = false;
    this.#schedule(this.#opts.everyMs);
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#idle = this.#pass().finally(() => {
        if (!this.#stopped) this.#schedule(this.#opts.everyMs);
      });
    }, ms);
    this.#timer.unref();
  }

  async #pass(): Promise<void> {
    try {
      const deleted = await this.sweepAll();
      if (deleted > 0) this.#log.info({ deleted }, 'deleted activities no feed holds any more');
    } catch (err) {
      this.#log.error({ err }, 'activity sweep failed; will retry at the next pass');
    }
  }

  /** One whole pass over every app's activities; returns how many were deleted. */
  async sweepAll(): Promise<number> {
    const sweep = this.#store.sweepActivities?.bind(this.#store);
    if (sweep === undefined) return 0;
    let deleted = 0;
    for (const app of this.#apps) {
      let after: string | null = null;
      do {
        if (this.#stopping) return deleted;
        const step = await sweep(app, after, SWEEP_STEP, Date.now(), Math.max(this.#opts.retentionMs, this.#opts.minUnheldMs ?? MIN_UNHELD_MS));
        deleted += step.deleted;
        after = step.next;
        if (after !== null) await new Promise((r) => setTimeout(r, STEP_PAUSE_MS));
      } while (after !== null);
    }
    return deleted;
  }

  /** Stops after the step in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#idle;
  }
}
