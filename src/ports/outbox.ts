/**
 * Durable fan-out jobs. Kinds are `noun.verb`; payloads hold ids and small scalars only.
 * - `fanout.add`: put `ids` into every follower of `source`, with origin `source`.
 * - `fanout.remove`: take `ids` out of every follower of `source` where they came from `source`.
 * Every job is idempotent: replaying a chunk changes nothing.
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
}

export interface Outbox {
  /** The oldest pending jobs, at most `limit`. Jobs stay pending until completed in a commit. */
  pendingJobs(limit: number): Promise<QueuedJob[]>;

  /** Number of pending jobs (for metrics and tests). */
  pendingCount(): Promise<number>;
}
