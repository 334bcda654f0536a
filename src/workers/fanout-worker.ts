import type { Logger } from 'pino';
import type { App } from '../core/feeds/feed-group.js';
import { runFanoutRound, type FanoutRoundDeps, type JobFailure, type RetryPolicy } from '../services/fanout-round.js';

export interface FanoutWorkerOptions {
  /** How often the queue is looked at when nothing woke the worker (ms; default 1000). */
  readonly pollMs?: number;
  /** Told of every failed round and every failed job (after it is logged), e.g. to notice corrupt data. */
  readonly onFailure?: (err: unknown) => void;
  /** How failed jobs are retried before they are dead-lettered (default: fanout-round.ts). */
  readonly retry?: RetryPolicy;
  /** Told of every intent finished, with the time since it was written (the fan-out lag). */
  readonly onApplied?: (kind: string, lagSeconds: number) => void;
}

/**
 * The consumer of the outbox. It drains the queue whenever woken (after a commit that enqueued
 * jobs) and also polls, so jobs left by a crashed process are finished after restart, and jobs put
 * off after a failure are retried when due.
 *
 * Failures: a job that fails is retried with a doubling wait and, after its last attempt, moved to
 * the dead-letter list with its error (logged at error level, counted by `deadLetterCount`); the
 * other jobs go on meanwhile (see fanout-round.ts). A transient failure of the store (busy, disk
 * full) charges no job: the worker waits, doubling up to 30 seconds, and tries the round again.
 */
export class FanoutWorker {
  readonly #services: () => FanoutRoundDeps;
  readonly #apps: ReadonlyMap<string, App>;
  readonly #log: Logger;
  readonly #pollMs: number;
  #running = false;
  #started = false;
  #stopped = false;
  #again = false;
  #timer: NodeJS.Timeout | null = null;
  #idle: Promise<void> = Promise.resolve();
  #failures = 0;
  /** Tail of the chain that serializes rounds (see {@link #round}). */
  #lock: Promise<unknown> = Promise.resolve();

  readonly #onFailure: (err: unknown) => void;
  readonly #retry: RetryPolicy | undefined;
  readonly #onApplied: ((kind: string, lagSeconds: number) => void) | undefined;

  constructor(services: () => FanoutRoundDeps, apps: ReadonlyMap<string, App>, log: Logger, opts: FanoutWorkerOptions = {}) {
    this.#onFailure = opts.onFailure ?? (() => {});
    this.#services = services;
    this.#apps = apps;
    this.#log = log;
    this.#pollMs = opts.pollMs ?? 1000;
    this.#retry = opts.retry;
    this.#onApplied = opts.onApplied;
  }

  start(): void {
    this.#stopped = false;
    this.#started = true;
    this.wake();
  }

  /** For readiness: whether the worker runs (started, not stopped), and its failed rounds in a row. */
  status(): { running: boolean; failures: number } {
    return { running: this.#started && !this.#stopped, failures: this.#failures };
  }

  /** Asks the worker to drain the queue now. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#running = true;
    this.#idle = this.drain().finally(() => {
      this.#running = false;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        setImmediate(() => this.wake());
      } else {
        const delay = this.#failures > 0 ? Math.min(30_000, this.#pollMs * 2 ** this.#failures) : this.#pollMs;
        this.#timer = setTimeout(() => this.wake(), delay);
        this.#timer.unref();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.#stopped) return;
        // Shutdown (stop()) ends a round after the chunk it is committing.
        const done = await this.#round(() => this.#stopped);
        this.#failures = 0;
        if (done === 0) return;
        // Let request handlers run between rounds.
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      this.#failures++;
      this.#log.error({ err }, 'fan-out round failed; will retry');
      this.#onFailure(err);
    }
  }

  /** Logs one failed job: a warning while it will be retried, an error once it is dead-lettered. */
  #jobFailed = (f: JobFailure): void => {
    const job = { job_id: f.job.id, kind: f.job.kind, app: f.job.app, source: f.job.source, activities: f.job.ids.length, attempts: f.attempts };
    if (f.retryAt === null) this.#log.error({ err: f.error, ...job }, 'fan-out job failed for good; moved to the dead-letter list');
    else this.#log.warn({ err: f.error, ...job, retry_at: new Date(f.retryAt).toISOString() }, 'fan-out job failed; will retry');
    this.#onFailure(f.error);
  };

  /** Drains everything queued now, whether or not the worker runs (tests drive a stopped worker so). */
  async drainAll(): Promise<void> {
    while ((await this.#round(() => false)) > 0) {
      /* keep going */
    }
  }

  /**
   * One round of jobs, never concurrent with another round of this worker (`drainAll` may be
   * called while the background loop runs). Two rounds over the same queue would fetch the same
   * jobs, redo each other's chunks and move cursors backwards; chunks are idempotent, so that is
   * wasted work rather than wrong results, but interleaved rounds also make the order in which
   * one activity's add and removal reach a follower depend on timing.
   */
  #round(stopping: () => boolean): Promise<number> {
    const run = this.#lock.then(() => runFanoutRound(this.#services(), this.#apps, { stopping, retry: this.#retry, onJobFailed: this.#jobFailed, onApplied: this.#onApplied }));
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops after the chunk being committed: a round in progress ends there and leaves its jobs, with
   * their cursors, in the queue for the next start (as after a crash, which loses nothing).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#idle;
  }
}
