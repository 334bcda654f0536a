import { randomBytes } from 'node:crypto';
import { InputError, FeedConfigError } from '../core/errors.js';
import type { App, FeedGroup } from '../core/feeds/feed-group.js';
import { DEFAULT_MAX_LENGTH } from '../core/feeds/feed-group.js';
import { parseFeedId, type FeedId } from '../core/feeds/feed-id.js';
import type { AuditLog } from '../ports/audit-log.js';
import type { ChangeMarks } from '../ports/change-marks.js';
import type { Clock } from '../ports/clock.js';
import type { FlagStore } from '../ports/flag-store.js';
import type { UserDataIndex } from '../ports/user-data.js';
import type { SignalStore } from '../ports/signal-store.js';
import type { StoragePorts } from '../ports/storage.js';
import type { SignalContext } from './signals/signal-context.js';
import type { ChangeCache } from './change-cache.js';
import type { ChangeSet, MarkChange } from './publish-changes.js';
import { markFeeds } from './write-step.js';
import type { PersonalizationRuntime } from './personalization/runtime.js';

/** Tunables of the write path and the fan-out worker. */
export interface FanoutSettings {
  /** Fan-outs to at most this many followers per source feed are applied before the response. */
  readonly inlineMaxFollowers: number;
  /** Followers per worker chunk (one transaction). */
  readonly chunkSize: number;
  /**
   * A feed with more followers than this is served by pull: its activities are not copied into
   * flat follower feeds; their reads merge them in (hybrid fan-out).
   */
  readonly pullMinFollowers: number;
  /**
   * How long a fan-out job may go without recorded progress before another worker takes it over,
   * and how long an inline intent is left to its writer (ms, measured by the store's clock; on
   * Redis the min-idle time of `XAUTOCLAIM`). Default `LEASE_MS` (run-fanout-jobs.ts).
   */
  readonly leaseMs?: number;
  /**
   * How often a fan-out worker looks at the queue when nothing woke it (ms). Default: 1000 in
   * `serve`, 250 in `rivulet worker`.
   */
  readonly pollMs?: number;
}

export const DEFAULT_FANOUT: FanoutSettings = { inlineMaxFollowers: 1000, chunkSize: 10_000, pullMinFollowers: 10_000 };

/**
 * Everything a use case may be given: the storage ports, the personalization stores, the clock
 * and settings. No HTTP. Each service module takes only the part it uses (its `…Deps` type, built
 * with {@link Uses}), so its signature names the ports it touches.
 */
export interface Services {
  /** The storage ports (docs/storage-ports.md). */
  readonly ports: StoragePorts;
  /** The personalization stores (event log, profiles, content tags, hides) over the same data. */
  readonly signalStore: SignalStore;
  /**
   * The marks every write leaves naming what it changed (see `Store.changes`): read caches drop
   * only the answers a write made stale. Absent: the backend keeps none.
   */
  readonly changes?: ChangeMarks;
  /** A value that differs whenever stored data may have changed, by any writer (see `Store.changeMark`). */
  readonly changeMark?: () => string;
  readonly clock: TimeSource;
  readonly fanout: FanoutSettings;
  /** Called after a commit that enqueued fan-out jobs, so the worker wakes up. */
  readonly onJobsEnqueued: () => void;
  /** Personalization signals: per-app settings, the content worker's wake-up (absent: defaults, no wake-up). */
  readonly signals?: SignalContext;
  /** Who changed what; absent where nothing is recorded (the fan-out worker only copies). */
  readonly audit?: AuditLog;
  /** Moderation flags (`moderation/flag`); absent in the fan-out worker. */
  readonly flags?: FlagStore;
  /** What belongs to one user (data export and erasure); absent in the fan-out worker. */
  readonly userData?: UserDataIndex;
  /** Leave flagged activities, reactions and flagged users' content out of reads. */
  readonly hideFlagged?: boolean;
  /**
   * The parts many reads share, kept as text or bytes until a write changes what they show (see
   * `read-parts.ts`): activity bodies, enriched activities as every reader sees them (references
   * resolved, latest reactions and counts), a reader's own reactions on an activity; absent:
   * built each time.
   */
  readonly parts?: ChangeCache<string | Buffer>;
  /** A read being built for the read cache: the change keys of what it shows (see `recordingServices`). */
  readonly readDeps?: Set<string>;
  /** Personalized reads and the learner's models (absent: personalized reads fall back to formulas). */
  readonly personalization?: PersonalizationRuntime;
  /** Told of every commit once it is durable, to publish it to realtime subscribers; absent: nothing is published. */
  readonly realtime?: CommitListener;
}

/**
 * The part of {@link Services} a use case takes: the storage ports `P` and the other fields `K`.
 * Each service module exports its own (e.g. `FollowDeps`), so its signature says which ports it
 * touches and the type checker keeps it to them.
 * @example Uses<'follows' | 'timelines', 'clock'> // { ports: { follows, timelines }, clock }
 */
export type Uses<P extends keyof StoragePorts = never, K extends Exclude<keyof Services, 'ports'> = never> = {
  readonly ports: Pick<StoragePorts, P>;
} & Pick<Services, K>;

/** Told of every commit once it is durable (see publish-changes.ts). Never throws. */
export interface CommitListener {
  committed(app: string, changes: ChangeSet): Promise<void>;
  /**
   * Whether a commit of `app` would be published now (someone listens to one of its feeds).
   * False lets a writer skip building the per-feed change records of what it applies; absent:
   * always build them.
   */
  listening?(app: string): boolean;
}

/**
 * Sets seen/read marks on notification feeds and publishes them (see `markFeeds` in
 * write-step.ts): the one write a read makes (`mark_seen`, `mark_read` on a feed read).
 */
export async function commit(s: Uses<'groups', 'realtime'>, app: string, batch: { readonly marks: readonly MarkChange[] }): Promise<void> {
  await markFeeds(s, app, batch.marks);
}

/**
 * Hands out activity times that strictly increase within this process (stream-v2-api.md §4.2:
 * back-to-back adds must order newest first), adding 1 µs on a collision.
 */
export class TimeSource {
  readonly #clock: Clock;
  #last = 0;
  /**
   * Names this process among others writing to the same data: times are only unique within one
   * process, so ids of activities given a server time also hash this (see finishActivity).
   */
  readonly writer = randomBytes(8).toString('hex');

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The current time in microseconds, strictly greater than any value returned before. */
  next(): number {
    const now = this.#clock.nowUs();
    this.#last = now > this.#last ? now : this.#last + 1;
    return this.#last;
  }

  now(): number {
    return this.#clock.nowUs();
  }
}

/** The group of a feed in a path; unknown groups are 400/6 (§4.1). */
export function groupOf(app: App, feed: FeedId): FeedGroup {
  const g = app.groups.get(feed.slug);
  if (!g) throw new FeedConfigError(`feed group "${feed.slug}" does not exist in this app`);
  return g;
}

/** Parses a feed id that arrives in a body (`to`, follow targets); unknown groups are 400/4. */
export function bodyFeed(app: App, value: unknown, what: string): FeedId {
  const f = parseFeedId(value, what);
  if (!app.groups.has(f.slug)) throw new InputError(`${what}: feed group "${f.slug}" does not exist`);
  return f;
}

/** Max entries kept for a feed id `slug:uid`. */
export function maxLengthOf(app: App, fid: string): number {
  return app.groups.get(fid.slice(0, fid.indexOf(':')))?.maxLength ?? DEFAULT_MAX_LENGTH;
}

/**
 * What caches of finished reads check before answering: a function whose value changes whenever
 * stored data may have changed, by any writer (see `Store.changeMark`); null when the store cannot
 * tell, and then only a store with change marks is cached (every look reads them).
 */
export function changeMarkOf(s: Pick<Services, 'changeMark'>): (() => string) | null {
  return s.changeMark ?? null;
}

/** The store's change marks (what each write changed, see `ChangeMarks`), for caches of reads; null when it keeps none. */
export function changesOf(s: Pick<Services, 'changes'>): ChangeMarks | null {
  return s.changes ?? null;
}
