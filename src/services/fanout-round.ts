import type { App } from '../core/feeds/feed-group.js';
import { StoreError } from '../core/errors.js';
import type { QueuedIntent } from '../ports/intent-queue.js';
import type { Uses } from './context.js';
import { LEASE_MS, runFanoutJobs, type AppliedListener } from './run-fanout-jobs.js';

/** What a round of the fan-out worker uses. */
export type FanoutRoundDeps = Uses<'activities' | 'follows' | 'groups' | 'intents' | 'timelines', 'clock' | 'fanout' | 'realtime'>;

/** How failed fan-out jobs are retried. */
export interface RetryPolicy {
  /** Failed attempts after which a job is dead-lettered (the last one included). */
  readonly maxAttempts: number;
  /** Wait before the first retry (ms); doubles with each further attempt. */
  readonly baseMs: number;
  /** Longest wait between attempts (ms). */
  readonly maxMs: number;
}

/** Five attempts over about 15 seconds: 1, 2, 4 and 8 seconds apart. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseMs: 1000, maxMs: 60_000 };

/** Jobs taken per round (see run-fanout-jobs.ts for why many). */
export const MAX_JOBS_PER_ROUND = 1000;

/** One failed attempt of one job, as recorded in the outbox. */
export interface JobFailure {
  readonly job: QueuedIntent;
  readonly error: unknown;
  /** The attempts counted so far, this one included. */
  readonly attempts: number;
  /** When the job is due again (ms since the epoch); null: it was moved to the dead-letter list. */
  readonly retryAt: number | null;
}

export interface RoundOptions {
  readonly retry?: RetryPolicy;
  readonly maxJobs?: number;
  /** How long a claim made no progress before another round takes it over (ms, the store's clock; default the `fanout.leaseMs` setting, else LEASE_MS). */
  readonly leaseMs?: number;
  /** Asked after every committed chunk; once true the round ends there (shutdown). */
  readonly stopping?: () => boolean;
  /** Told of each failed attempt after it is recorded (to log it, to notice corrupt data). */
  readonly onJobFailed?: (f: JobFailure) => void;
  /** Told of each intent finished, with its lag since it was written. */
  readonly onApplied?: AppliedListener;
}

/**
 * A failure of the store rather than of the job (busy, out of disk, unreachable): the whole round
 * waits and retries, and no job is charged for it (else an outage would dead-letter every job).
 */
export function isTransient(err: unknown): boolean {
  return err instanceof StoreError && err.transient;
}

/** One line describing a failure, for the dead-letter list: the message and the driver's, if any. */
export function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 2000);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.name}: ${err.message}${cause}`.slice(0, 2000);
}

/**
 * One round of the fan-out queue: the jobs due now, oldest first. Jobs that never failed run
 * together, sharing commits; if that fails for a reason of the job (not a transient one), each of
 * them is run alone, so that one bad job cannot hold back the others. Jobs that failed before run
 * alone from the start. A job's failure is recorded in the outbox: it is due again after a
 * doubling wait, and after `maxAttempts` failures it is moved to the dead-letter list with its
 * error. A transient failure is thrown: nothing is charged and the caller retries the round later.
 *
 * Returns the number of jobs the round dealt with (finished, or failed and put off); 0 when nothing
 * was due.
 */
export async function runFanoutRound(s: FanoutRoundDeps, apps: ReadonlyMap<string, App>, opts: RoundOptions = {}): Promise<number> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const stopping = opts.stopping ?? (() => false);
  const limit = opts.maxJobs ?? MAX_JOBS_PER_ROUND;
  const nowMs = () => Math.floor(s.clock.now() / 1000);
  const jobs = await s.ports.intents.claim(limit, opts.leaseMs ?? s.fanout.leaseMs ?? LEASE_MS, nowMs());
  if (jobs.length === 0) return 0;
  // The claimed intents not finished yet, with the cursor each reached: handed back at once when
  // the round ends early (shutdown) or on a transient failure, instead of waiting for their lease.
  const open = new Map(jobs.map((j) => [j.id, j.cursor]));
  const release = () => s.ports.intents.progress([...open].map(([id, cursor]) => ({ id, cursor })), true).catch(() => undefined);
  try {
    const dealt = await runClaimed(s, apps, jobs, retry, stopping, { ...opts, open });
    if (stopping() && open.size > 0) await release();
    return dealt;
  } catch (err) {
    // A transient failure charges nothing: the claimed intents go back at once, with their
    // cursors, for the round the caller retries.
    if (open.size > 0) await release();
    throw err;
  }
}

async function runClaimed(
  s: FanoutRoundDeps,
  apps: ReadonlyMap<string, App>,
  jobs: readonly QueuedIntent[],
  retry: RetryPolicy,
  stopping: () => boolean,
  opts: RoundOptions & { readonly open: Map<string, string | null> },
): Promise<number> {
  const nowMs = () => Math.floor(s.clock.now() / 1000);
  const fresh = jobs.filter((j) => j.attempts === 0);
  const retried = jobs.filter((j) => j.attempts > 0);
  let dealt = 0;

  const fail = async (job: QueuedIntent, error: unknown) => {
    const attempts = job.attempts + 1;
    const now = nowMs();
    const retryAt = attempts >= retry.maxAttempts ? null : now + Math.min(retry.maxMs, retry.baseMs * 2 ** (attempts - 1));
    await s.ports.intents.failed(job.id, describeFailure(error), retryAt, now);
    opts.open.delete(job.id);
    opts.onJobFailed?.({ job, error, attempts, retryAt });
  };
  const alone = async (job: QueuedIntent) => {
    try {
      await runFanoutJobs(s, apps, [job], stopping, opts.onApplied, opts.open);
    } catch (err) {
      if (isTransient(err)) throw err;
      await fail(job, err);
    }
    dealt++;
  };

  if (fresh.length > 0) {
    try {
      dealt += await runFanoutJobs(s, apps, fresh, stopping, opts.onApplied, opts.open);
    } catch (err) {
      if (isTransient(err)) throw err;
      // Chunks applied before the failure stay (they are idempotent); the intents still queued are
      // run one by one, from their first page again (redoing applied pages is harmless).
      const left = fresh;
      for (const job of left) {
        if (stopping()) return dealt;
        await alone(job);
      }
    }
  }
  for (const job of retried) {
    if (stopping()) break;
    await alone(job);
  }
  return dealt;
}
