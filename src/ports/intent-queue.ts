import type { ActivityRecord } from './activity-store.js';
import type { AuditChange } from './audit-log.js';
import type { ReactionRecord } from './reaction-store.js';

/**
 * What a write still has to do after its atomic step: the durable fan-out intent. Kinds are
 * `noun.verb`; payloads hold ids and small scalars only (never feed lists: the followers are
 * paged from the follow graph when the intent is applied).
 * - `fanout.add`: put `ids` into every follower of `source`, with origin `source`.
 * - `fanout.remove`: take `ids` out of every follower of `source` where they came from `source`.
 *
 * Applying an intent is a sequence of per-feed operations, each idempotent, so an intent may be
 * applied twice (a crash after some of its operations, a worker that lost its lease) without
 * changing the outcome.
 */
export interface Intent {
  readonly kind: 'fanout.add' | 'fanout.remove';
  readonly source: string;
  readonly ids: readonly string[];
  /**
   * `inline`: the writing request applies the intent itself before it responds (small fan-out);
   * the queue hands it to a worker only once its lease ran out (the writer crashed), or once the
   * writer released it ({@link IntentQueue.release}). `queued`: a worker applies it (large
   * fan-out), from the first {@link IntentQueue.claim}. A worker spreads only the ids it still
   * finds written directly in `source`, so a write commits a queued intent only once its own
   * feed's entries are visible with it or before it (see {@link IntentQueue.ordered}).
   */
  readonly mode: 'inline' | 'queued';
}

/** A follow edge change written by a step. Times in microseconds. */
export interface FollowWrite {
  readonly source: string;
  readonly target: string;
  readonly createdUs: number;
  /** The source is an aggregated or notification feed (see {@link FollowStore.followerPage}). */
  readonly grouped: boolean;
  /**
   * How far back the follower sees the target while the target is served by pull: the oldest
   * activity id the follow copied, or a time (microseconds) when it copied nothing; null for
   * everything. A re-follow keeps the first edge and its bound.
   */
  readonly since: { readonly id: string } | { readonly timeUs: number } | null;
}

/**
 * Reaction writes of one step. `add` inserts new reactions (an id that exists fails the step
 * with a `ConflictError`); `update` replaces data, target feeds and updated time; `remove`
 * deletes for good; `softDelete`/`restore` set or clear `deleted_at`. The counts per
 * (activity or parent, kind) follow every change of a visible reaction within the same step:
 * reactions and their counts live in the place of their activity.
 */
export interface ReactionWrites {
  readonly add?: readonly ReactionRecord[];
  readonly update?: readonly ReactionRecord[];
  readonly remove?: readonly ReactionRecord[];
  readonly softDelete?: readonly { readonly reaction: ReactionRecord; readonly deletedUs: number }[];
  readonly restore?: readonly ReactionRecord[];
  /**
   * The step was built from reads that another request may have made stale since: checked inside
   * the step, and when one check fails the step fails with a `StaleWriteError` and writes nothing
   * (the caller reads again). An added child's parent must still be stored (soft-deleted counts)
   * or be added before it in this step; an updated reaction must still be stored; a removed
   * reaction must be stored as it was read (data, target feeds and updated time) or not at all, and
   * every stored child of it must be removed in this step too. Without it, a child added while
   * its parent was removed outlived the parent, and an update racing a delete put the deleted
   * reaction's activity back into its target feeds. The reactions service sets it; an import,
   * which may add a child before its parent, does not.
   */
  readonly checked?: boolean;
}

/**
 * The one atomic step of a write: the written thing together with the intents that spread it.
 * Everything in one step is durable when {@link IntentQueue.commit} resolves, or nothing is.
 * A step holds one written thing (an activity, a reaction change, a follow edge…) so that a
 * distributed store can write it in one place; the changes to feeds are per-feed operations
 * applied afterwards (see {@link TimelineStore.apply}, {@link GroupStore.writeGroups}).
 */
export interface WriteStep {
  /** Upsert by id; an existing activity keeps its home feed. */
  readonly activity?: ActivityRecord;
  /**
   * With {@link activity}: write it only if the stored activity's body is still this text (the
   * body a read-modify-write started from); otherwise the write fails with a `ConflictError` and
   * nothing of it is applied, and the caller reads again. It keeps concurrent updates of one
   * activity from different processes from dropping each other's acknowledged change. The SQLite
   * store checks it inside the step's transaction, the Redis store first thing in the step's script.
   */
  readonly expectBody?: string;
  /** Delete these activity records for good (data erasure); entries left in feeds are skipped by reads. */
  readonly erase?: readonly string[];
  readonly reactions?: ReactionWrites;
  /** Create the edge (an existing edge is kept unchanged). */
  readonly follow?: FollowWrite;
  /** Delete the edge (a missing edge is no error). */
  readonly unfollow?: { readonly source: string; readonly target: string };
  /** What still has to happen; durable with the written thing. */
  readonly intents?: readonly Intent[];
  /** Audit log entries of this change, recorded in the same step (see {@link AuditLog}). */
  readonly audit?: { readonly atUs: number; readonly changes: readonly AuditChange[] };
}

/** An intent as stored: its id, its app, and how far its application got. */
export interface QueuedIntent extends Intent {
  /** Opaque, unique within the queue. */
  readonly id: string;
  readonly app: string;
  /** Follower cursor reached by the last recorded progress, `null` before the first. */
  readonly cursor: string | null;
  /** When the intent was written (ms since the epoch), for the fan-out lag metric; null when unknown. */
  readonly queuedAt: number | null;
  /** How many times it was claimed before (0 on the first claim): retries and dead letters. */
  readonly attempts: number;
}

/** A committed step's intents, in the order given, so the writer can apply and complete them. */
export interface CommittedStep {
  readonly intents: readonly QueuedIntent[];
}

/**
 * The durable queue of intents, and the atomic steps that write them.
 *
 * Idempotence and order, per method:
 * - `commit`: NOT idempotent as a whole (each call writes new intents); each step is atomic on its
 *   own (steps of one call are independent; a failed step fails the call, earlier steps of the
 *   call may be durable). Acknowledge a write only after `commit` resolved.
 * - `claim`: hands out an intent at most once per lease; an unfinished claimed intent (worker died:
 *   no progress for `leaseMs`) or an inline intent whose writer did not complete it comes back
 *   after `leaseMs`, measured by the store's clock.
 * - `progress`: last-writer-wins per intent; a cursor is a position in the follower order, so
 *   redoing pages after a stale cursor is harmless (the per-feed operations are idempotent).
 * - `complete`: idempotent (a completed or unknown id is ignored).
 * - `release`: idempotent (an intent already queued, claimed, completed or unknown is left alone);
 *   it need not be durable when it resolves (the inline intent is, and comes back after its lease);
 *   a claim made by the same process after the call sees it.
 * - `failed`: an intent no longer pending (completed, dead-lettered) is left alone, so recording
 *   one failure twice moves nothing twice; a retried attempt counts again.
 * - `requeueDeadLetters`: ids not in the dead-letter list are ignored.
 */
export interface IntentQueue {
  /**
   * `true` when the store applies the writes handed to its ports — this queue's and the per-feed
   * operations of the timeline and group stores — in the order their methods were called, so that
   * nobody (another process included) sees a write without every write handed over before it: an
   * embedded store with one writing connection. A write hands a method call over when it calls
   * it, before the returned promise settles.
   *
   * A write whose own feeds' operations are handed over before its `commit` may then commit a
   * large fan-out's intent `queued` at once: a worker that claims it finds the written feed's
   * entries. Absent or false (a cluster, where the operations and the step land on different
   * nodes in any order), the write commits it `inline` and {@link release}s it once its own
   * operations landed, so that no worker takes it before. If the operations fail while the step
   * commits (the write then fails), a queued intent finds nothing written to spread and is
   * completed empty; the activity is left to the orphan sweep.
   *
   * Such a store's {@link pendingCount} and {@link pending} also see every write of the queue
   * handed over before them, so a writer need not wait for its {@link complete} before it
   * answers: a completion lost in a crash leaves the inline intent, which a worker redoes after
   * its lease (idempotent operations).
   */
  readonly ordered?: boolean;

  /**
   * Applies each step atomically (see {@link WriteStep}) and returns its stored intents, one entry
   * per step, in order. Adding a reaction whose id exists fails with a `ConflictError` and writes
   * nothing of that step.
   * @example commit('1', [{ activity, intents: [{ kind: 'fanout.add', source: 'user:alice', ids: [activity.id], mode: 'inline' }] }])
   *
   * The per-feed operations of a write may be handed to their ports while `commit` is still on its
   * way, when the step cannot be refused (see `WriteParts.workWithStep`): the write is acknowledged
   * once both resolved, and an embedded store that takes writes of one turn together commits them
   * in the step's transaction. Entries whose activity's step failed are skipped by reads.
   *
   * `opts.covered`: every step only hands over work that a durable inline intent already names
   * (see runWrite), so it need not be on disk when the call resolves: lost in a power loss, the
   * inline intent comes back after its lease and a worker redoes the work. An adapter may then
   * skip waiting for the disk; it must still keep the order of its writes.
   */
  commit(app: string, steps: readonly WriteStep[], opts?: { readonly covered?: boolean }): Promise<CommittedStep[]>;

  /**
   * Up to `limit` intents to apply: queued intents nobody holds a lease on, and inline intents
   * older than `leaseMs` (their writer died before completing them), leaving out intents waiting
   * for a retry (see {@link failed}) until `now`. A claim takes a lease of `leaseMs`. Oldest first,
   * except that an intent with more attempts yields to fresher ones (a distributed store may
   * order within each of its partitions only).
   *
   * Two clocks: leases and the age of inline intents are measured by the store's own clock, as a
   * time since the claim, the last {@link progress} or the commit (on Redis the idle time of a
   * stream entry, which `XAUTOCLAIM` compares with `leaseMs` on the server), so a lease held by a
   * worker on another machine ends the same for every claimer; `now` is the caller's clock (ms),
   * against which the retry times given to {@link failed} are compared.
   */
  claim(limit: number, leaseMs: number, now: number): Promise<QueuedIntent[]>;

  /**
   * Records how far intents got (a follower cursor each; null: not started) and renews their
   * lease: the time a claim compares with its `leaseMs` starts again, by the store's clock. With `handBack`
   * the lease ends instead and the intents can be claimed again at once (shutdown, a transient
   * failure).
   */
  progress(updates: readonly { readonly id: string; readonly cursor: string | null }[], handBack?: boolean): Promise<void>;

  /**
   * Removes finished intents from the queue. `lazy`: the caller does not wait for it (its writer
   * already answered), so an adapter may hold the completion back for a short while to go with a
   * later write instead of costing a write of its own; if it is lost meanwhile, a worker redoes
   * the intent's idempotent operations after its lease, as after any lost completion.
   */
  complete(ids: readonly string[], lazy?: boolean): Promise<void>;

  /**
   * Hands inline intents to the workers: each still inline and not claimed becomes `queued`,
   * claimable from the next {@link claim} (a large fan-out, committed inline with its step so that
   * no worker takes it before the write applied its own feeds' operations). Others are left alone.
   * An adapter need not wait for the disk: if the release is lost, the durable inline intent goes
   * to a worker once its lease ran out. A {@link claim} this process makes after calling `release`
   * (not only after it resolved) sees the release, so a writer need not wait for it before it
   * answers.
   */
  release(ids: readonly string[]): Promise<void>;

  /**
   * Records a failed attempt: `attempts` grows by one, the lease ends and the intent is due again
   * at `retryAt` (ms since the epoch, the caller's clock: see {@link claim}); with `retryAt` null it leaves the queue for the dead-letter
   * list with `error` and the time `now`. Its cursor is kept either way.
   */
  failed(id: string, error: string, retryAt: number | null, now: number): Promise<void>;

  /** Number of dead-lettered intents. */
  deadLetterCount(): Promise<number>;

  /** The dead-lettered intents, oldest first, at most `limit`, with their last error and when they failed. */
  deadLetters(limit: number): Promise<(QueuedIntent & { readonly error: string; readonly failedAt: number })[]>;

  /** Puts dead-lettered intents back (all, or those of `ids`) with no attempts; returns how many moved. */
  requeueDeadLetters(ids?: readonly string[]): Promise<number>;

  /** Number of intents waiting (claimed or not; inline ones included), for metrics and tests. */
  pendingCount(): Promise<number>;

  /**
   * The waiting intents (claimed or not, inline ones included; not dead letters), oldest first, at
   * most `limit`, with their cursor and attempts; takes no lease. For the queue-age metric (the
   * oldest one's `queuedAt`), tools and tests.
   */
  pending(limit: number): Promise<QueuedIntent[]>;
}
