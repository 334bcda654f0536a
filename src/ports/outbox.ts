/**
 * Durable fan-out jobs. Kinds are `noun.verb`; payloads hold ids and small scalars only.
 * - `fanout.add`: put `ids` into every follower of `source`, with origin `source`.
 * - `fanout.remove`: take `ids` out of every follower of `source` where they came from `source`.
 * Every job is idempotent: replaying a chunk changes nothing.
 *
 * A job that fails is retried later (see {@link Outbox.jobFailed}); one that keeps failing is
 * moved to the dead-letter list with its error, where it no longer holds up the queue and stays
 * until an operator puts it back ({@link Outbox.requeueDeadLetters}).
 */
export interface FanoutJob {
  readonly kind: 'fanout.add' | 'fanout.remove';
  readonly app: string;
  readonly source: string;
  readonly ids: readonly string[];
}

export interface QueuedJob extends FanoutJob {
  readonly jobId: number;
  /** Follower cursor reached by the last committed chunk, `null` before the first. */
  readonly cursor: string | null;
  /**
   * When the job was queued (ms since the epoch; the write that queued it was acknowledged right
   * after), for the fan-out lag metric; `null` when the store does not know.
   */
  readonly queuedAt: number | null;
  /** Failed attempts recorded so far (0 for a job that never failed). */
  readonly attempts: number;
}

/** A job set aside after failing for good. */
export interface DeadLetter extends QueuedJob {
  /** The last attempt's error, as logged. */
  readonly error: string;
  /** When it was set aside (ms since the epoch). */
  readonly failedAt: number;
}

export interface Outbox {
  /**
   * The oldest pending jobs, at most `limit`. With `now` (ms since the epoch), only jobs that are
   * due: a job whose failed attempt asked for a retry later is left out until then. Jobs stay
   * pending until completed in a commit or dead-lettered.
   */
  pendingJobs(limit: number, now?: number): Promise<QueuedJob[]>;

  /** Number of pending jobs, due or waiting for a retry (for metrics and tests). */
  pendingCount(): Promise<number>;

  /**
   * Records a failed attempt of pending job `jobId`: its `attempts` grows by one and it is due
   * again at `retryAt` (ms since the epoch); with `retryAt` null it leaves the queue for the
   * dead-letter list, with `error` and the time `now` (ms). Its cursor is kept either way.
   * Idempotence: a job that is no longer pending (completed, or already dead-lettered) is left
   * alone, so recording one failure twice moves nothing twice; a retried attempt counts again.
   */
  jobFailed(jobId: number, error: string, retryAt: number | null, now: number): Promise<void>;

  /** Number of dead-lettered jobs (for metrics and readiness). */
  deadLetterCount(): Promise<number>;

  /** The dead-lettered jobs, oldest job first, at most `limit`. */
  deadLetters(limit: number): Promise<DeadLetter[]>;

  /**
   * Puts dead-lettered jobs back in the queue (all of them, or those of `jobIds`) with no failed
   * attempts, keeping their ids, cursors and queue times; returns how many moved. Idempotence:
   * ids not in the dead-letter list are ignored.
   */
  requeueDeadLetters(jobIds?: readonly number[]): Promise<number>;
}
