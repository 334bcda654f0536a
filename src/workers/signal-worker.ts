import type { Logger } from 'pino';
import type { LabelerSettings } from '../personalization/signals/settings.js';
import type { ImageLabeler } from '../ports/image-labeler.js';
import type { Uses } from '../services/context.js';
import { EVENT_BATCH } from '../services/personalization/runtime.js';
import { CONTENT_BATCH, processContentJobs } from '../services/signals/process-content.js';
import { settingsOf } from '../services/signals/signal-context.js';

/** What the signal worker uses: content jobs, the learner's steps and the event log's retention. */
export type SignalWorkerDeps = Uses<'activities' | 'follows', 'clock' | 'personalization' | 'signalStore' | 'signals'>;

/**
 * How long a content wake-up waits before the round starts (ms): activity writes arriving meanwhile
 * share one round and one commit. Each round's commit is a durable (fsynced) transaction, and every
 * commit makes the readers' caches look at the change marks; without the wait, every post cost a
 * second one, which slowed everything else on a busy disk. An activity is rankable before its tags
 * are stored (personalization.md §2.4), so a longer wait only delays its tags.
 */
const GATHER_MS = 500;
/**
 * Least time between two learner steps of the running worker (ms): engagements logged meanwhile are
 * learned together, so the round's fixed reads (the log, the readers' profiles and follows, the
 * activities' tags) are paid a few times a second rather than once per burst of writes. Within the
 * one second the design allows between an engagement and the reads it changes (personalization.md,
 * T9). `drainAll` and `snapshot` learn at once.
 */
const LEARN_EVERY_MS = 500;
/** How long a learner wake-up waits at least (ms), when the last step is older than {@link LEARN_EVERY_MS}. */
const LEARN_GATHER_MS = 100;
/** How often retention runs (ms). */
const SWEEP_EVERY_MS = 3_600_000;
/** Events deleted per retention step (one short transaction each). */
const SWEEP_STEP = 5000;

/**
 * The in-process worker of the signal pipeline: runs `content.process` jobs whenever woken (after
 * a commit that queued some) and on a poll (jobs left by a crash, delayed retries), and applies
 * each app's event retention once an hour. Image labelers are built once per app from its settings.
 */
export class SignalWorker {
  readonly #services: () => SignalWorkerDeps;
  readonly #apps: readonly string[];
  readonly #log: Logger;
  readonly #pollMs: number;
  readonly #labelers = new Map<string, ImageLabeler>();
  #running = false;
  #again = false;
  /** The round asked for by wake-ups while one ran: content jobs, the learner, or both. */
  #againContent = false;
  #againLearn = false;
  #stopped = true;
  #timer: NodeJS.Timeout | null = null;
  #gathering: NodeJS.Timeout | null = null;
  /** What the gathered round will do. */
  #gatherContent = false;
  #gatherLearn = false;
  /** When the learner last stepped (performance.now()), and a wake-up waiting for its next step. */
  #learnedAt = -Infinity;
  #learnTimer: NodeJS.Timeout | null = null;
  #idle: Promise<void> = Promise.resolve();
  #lock: Promise<unknown> = Promise.resolve();
  #lastSweep = 0;

  readonly #labeler: (settings: LabelerSettings) => ImageLabeler;

  /** `labeler` builds the image labeler an app's settings name (see compose/adapters.ts). */
  constructor(services: () => SignalWorkerDeps, apps: readonly string[], log: Logger, opts: { pollMs?: number; labeler: (settings: LabelerSettings) => ImageLabeler }) {
    this.#services = services;
    this.#apps = apps;
    this.#log = log;
    this.#pollMs = opts.pollMs ?? 1000;
    this.#labeler = opts.labeler;
  }

  /** The labeler of an app (for tests and the bench). */
  labelerOf = (appId: string): ImageLabeler => {
    let l = this.#labelers.get(appId);
    if (l === undefined) {
      l = this.#labeler(settingsOf(this.#services(), appId).content.labeler);
      this.#labelers.set(appId, l);
    }
    return l;
  };

  start(): void {
    this.#stopped = false;
    this.#run(true, true);
  }

  /**
   * Asks the worker to run queued content jobs soon, after {@link GATHER_MS} (no-op before `start`
   * or after `stop`); wake-ups meanwhile join the same round. The learner steps in that round too
   * when its last step is {@link LEARN_EVERY_MS} old.
   */
  wake(): void {
    this.#wake(true, false);
  }

  /**
   * Asks the worker to learn newly logged events: the learner's next step, {@link LEARN_GATHER_MS}
   * from now at the earliest and {@link LEARN_EVERY_MS} after its last step (no-op before `start`
   * or after `stop`).
   */
  wakeLearner(): void {
    if (this.#stopped || this.#learnTimer !== null) return;
    const wait = Math.max(LEARN_GATHER_MS, this.#learnedAt + LEARN_EVERY_MS - performance.now());
    this.#learnTimer = setTimeout(() => {
      this.#learnTimer = null;
      this.#wake(false, true, 0);
    }, wait);
    this.#learnTimer.unref();
  }

  #wake(content: boolean, learn: boolean, wait = GATHER_MS): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      this.#againContent ||= content;
      this.#againLearn ||= learn;
      return;
    }
    this.#gatherContent ||= content;
    this.#gatherLearn ||= learn;
    if (this.#gathering !== null) return;
    this.#gathering = setTimeout(() => {
      this.#gathering = null;
      const c = this.#gatherContent;
      const l = this.#gatherLearn;
      this.#gatherContent = this.#gatherLearn = false;
      if (!this.#running) this.#run(c, l);
      else {
        this.#again = true;
        this.#againContent ||= c;
        this.#againLearn ||= l;
      }
    }, wait);
    this.#gathering.unref();
  }

  #run(content: boolean, learn: boolean): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#running = true;
    this.#idle = this.#loop(content, learn).finally(() => {
      this.#running = false;
      if (this.#stopped) return;
      if (this.#again) {
        const c = this.#againContent;
        const l = this.#againLearn;
        this.#again = this.#againContent = this.#againLearn = false;
        // A learner wake-up during the round: its step comes at the learner's pace.
        if (c) this.#wake(true, false);
        if (l) this.wakeLearner();
      } else {
        // The poll finds what wake-ups missed: jobs left by a crash, delayed retries, events logged by another process.
        this.#timer = setTimeout(() => this.#run(true, true), this.#pollMs);
        this.#timer.unref();
      }
    });
  }

  async #loop(content: boolean, learn: boolean): Promise<void> {
    try {
      // Content rounds learn too when the learner's last step is old enough (a content job's item
      // is noted by the learner at once, whatever the round).
      const due = () => learn || performance.now() - this.#learnedAt >= LEARN_EVERY_MS;
      // Another round at once only while a batch came back full: work committed during a round
      // wakes the worker again, and the poll finds anything else.
      for (;;) {
        if (this.#stopped) break;
        const r = await this.#roundOf(undefined, content, due());
        if (r.jobs < CONTENT_BATCH && r.events < EVENT_BATCH) break;
        await new Promise((done) => setImmediate(done));
      }
      if (Date.now() - this.#lastSweep > SWEEP_EVERY_MS) {
        this.#lastSweep = Date.now();
        await this.sweep();
      }
    } catch (err) {
      this.#log.error({ err }, 'signal round failed; will retry');
    }
  }

  /** Runs every queued content job that may run now and learns every logged event; for tests. */
  async drainAll(): Promise<void> {
    while ((await this.#round()) > 0) {
      /* keep going */
    }
  }

  /** Learns what is left and saves a snapshot of every model that changed (at stop, and for tests). */
  async snapshot(): Promise<void> {
    while ((await this.#round('now')) > 0) {
      /* keep going */
    }
  }

  /** Deletes events past each app's retention. */
  async sweep(): Promise<number> {
    const s = this.#services();
    const now = s.clock.now();
    let total = 0;
    for (const app of this.#apps) {
      const before = now - settingsOf(s, app).retentionUs;
      for (;;) {
        const n = await s.signalStore.sweepEvents(app, before, now, SWEEP_STEP);
        total += n;
        if (n < SWEEP_STEP) break;
      }
    }
    return total;
  }

  /** A round of both (see {@link #roundOf}): the number of jobs run and events learned. */
  async #round(snapshot?: 'now'): Promise<number> {
    const r = await this.#roundOf(snapshot);
    return r.jobs + r.events;
  }

  /**
   * One round, never concurrent with another (`drainAll` may run beside the loop): queued content
   * jobs, then the learner's next events of each app (personalization.md §6.2), off the request
   * path; either may be left out. Returns how many jobs ran and events were learned.
   */
  #roundOf(snapshot?: 'now', content = true, learn = true): Promise<{ jobs: number; events: number }> {
    const run = this.#lock.then(async () => {
      const s = this.#services();
      // A snapshot round (at stop) only learns: content jobs left are picked up after the restart.
      const jobs = snapshot === 'now' || !content ? 0 : await processContentJobs(s, this.labelerOf);
      let events = 0;
      if (learn) {
        this.#learnedAt = performance.now();
        events = (await s.personalization?.step(s, this.#apps, { snapshot })) ?? 0;
      }
      return { jobs, events };
    });
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#gathering) clearTimeout(this.#gathering);
    if (this.#learnTimer) clearTimeout(this.#learnTimer);
    await this.#idle;
    try {
      await this.snapshot();
    } catch (err) {
      this.#log.error({ err }, 'saving the personalization models at stop failed; the next start replays the log');
    }
  }
}
