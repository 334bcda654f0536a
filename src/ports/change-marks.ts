import type { WriteStep } from './intent-queue.js';
import type { SignalWrites } from './signal-writes.js';

/**
 * The store's record of what changed: every write leaves a change mark naming the pieces of data
 * it changed (a feed's entries, an activity, a user, …, see {@link changeKey}), at a position in
 * one log that only grows. A reader that remembers the position it last read up to asks for the
 * marks after it and learns exactly which of its cached answers went stale, whichever process or
 * node made the writes.
 *
 * Operations and what they mean across processes:
 * - {@link position}: the position of the newest mark. Marks are ordered as their writes
 *   committed: a reader that takes the position and then reads data sees every write up to that
 *   position (and perhaps later ones, whose marks come after it). That is what makes "take the
 *   position, build an answer, then look at the marks after the position" safe.
 * - {@link changesSince}: the marks after a position, as the set of keys they name and the
 *   position they reach. When the log no longer reaches back that far (old marks are pruned), the
 *   answer says so (`complete: false`): the reader must then treat everything as changed.
 * - {@link record}: records a mark. Stores record the marks of their own writes in the same atomic
 *   step as the write (a mark is never missing for a write that landed); `record` is for writes
 *   made outside the store's transactions, called after they landed (a reader that built in
 *   between is caught by the later mark).
 *
 * A mark may name more than its write changed (a reader then rebuilds an answer that had not
 * changed), never less.
 */
export interface ChangeMarks {
  /** The position of the newest mark (0 before the first). */
  position(): Promise<number>;
  /**
   * The keys named by the marks after `after`, up to the position returned. `complete` is false
   * when marks after `after` were already pruned (every key must be taken as changed).
   */
  changesSince(after: number): Promise<ChangesSince>;
  /** Records a mark naming `keys`; resolves to its position. */
  record(keys: readonly string[]): Promise<number>;
  /**
   * What {@link changesSince} would answer, when the store knows it without reading the marks
   * (a process that learned the marks of its own commits with their acknowledgement, and knows
   * nobody else wrote since); null when it does not. Optional.
   */
  known?(after: number): ChangesSince | null;
}

export interface ChangesSince {
  readonly position: number;
  readonly keys: readonly string[];
  readonly complete: boolean;
}

/**
 * Keys of the data a read depends on and a write changes. Every key names its app; keys of one
 * app never collide with another's.
 * - `feed`: a feed's entries, groups, seen/read marks and hides, and the feeds it follows (its
 *   merged reads).
 * - `activity`: an activity's stored body (and its existence).
 * - `reactions`: an activity's reactions (counts, latest, own, children): a like leaves the pages
 *   that show the activity without its reactions (plain flat reads) as they were. Reads of
 *   reactions depend on the activity's key too.
 * - `reaction`: one reaction and its children.
 * - `user`, `object`: a user, a collection entry.
 * - `pulled`: the direct entries of the app's pull-served feeds (merged into their followers' reads).
 * - `signals`: personalization data (profiles, events, tags) that ranked reads score with.
 * - `tags`: one activity's content tags (a write of them marks `signals` too).
 * - `profile`: one user's personalization profile (interests, author affinities, preferences),
 *   which personalized reads keep per reader; a write that changes it marks `signals` too.
 * - `app`: anything else that changes what reads show (moderation flags); every read depends on it.
 */
export const changeKey = {
  feed: (app: string, fid: string) => `f|${app}|${fid}`,
  activity: (app: string, id: string) => `a|${app}|${id}`,
  reactions: (app: string, activityId: string) => `n|${app}|${activityId}`,
  reaction: (app: string, id: string) => `r|${app}|${id}`,
  user: (app: string, id: string) => `u|${app}|${id}`,
  object: (app: string, collection: string, id: string) => `o|${app}|${collection}|${id}`,
  pulled: (app: string) => `p|${app}`,
  signals: (app: string) => `s|${app}`,
  tags: (app: string, activityId: string) => `t|${app}|${activityId}`,
  profile: (app: string, user: string) => `w|${app}|${user}`,
  app: (app: string) => `*|${app}`,
} as const;

/**
 * The keys a write's atomic step changes (see {@link changeKey}); stores record them with the
 * step. The per-feed operations after it leave their own marks (see docs/storage-ports.md).
 */
export function stepChanges(app: string, step: WriteStep): Set<string> {
  const keys = new Set<string>();
  if (step.activity) keys.add(changeKey.activity(app, step.activity.id));
  for (const id of step.erase ?? []) keys.add(changeKey.activity(app, id));
  const r = step.reactions;
  if (r) {
    const all = [...(r.add ?? []), ...(r.update ?? []), ...(r.remove ?? []), ...(r.softDelete ?? []).map((x) => x.reaction), ...(r.restore ?? [])];
    for (const x of all) {
      keys.add(changeKey.reactions(app, x.activityId));
      keys.add(changeKey.reaction(app, x.id));
      if (x.parent) keys.add(changeKey.reaction(app, x.parent));
    }
  }
  if (step.follow) keys.add(changeKey.feed(app, step.follow.source));
  if (step.unfollow) keys.add(changeKey.feed(app, step.unfollow.source));
  return keys;
}

/**
 * The keys personalization writes change: the app's signals key when they change data that
 * ranked reads score with (events, profiles, tags, hides), the profile key of each user whose
 * profile they change (an event's effects, manual interests) and the tags key of each activity
 * whose tags they write; the job queue of content processing is not.
 */
export function signalChanges(app: string, s: SignalWrites): Set<string> {
  const keys = new Set<string>();
  if ((s.events?.length ?? 0) > 0 || (s.profile?.length ?? 0) > 0 || (s.tags?.length ?? 0) > 0 || (s.hides?.length ?? 0) > 0) {
    keys.add(changeKey.signals(app));
  }
  for (const e of s.events ?? []) for (const c of e.effects ?? []) keys.add(changeKey.profile(app, c.user));
  for (const c of s.profile ?? []) keys.add(changeKey.profile(app, c.user));
  for (const t of s.tags ?? []) keys.add(changeKey.tags(app, t.activityId));
  return keys;
}

/**
 * Requests this process has received (HTTP, counted before any of their work). A store may reuse
 * what it learned about other processes' commits while no request arrived since (see the SQLite
 * change mark): a request received before a look was sent before it, so every write acknowledged
 * to its client before it was sent had committed before the look, and the look saw it.
 */
let arrivals = 0;

/** Counts a request received; called first for every request, before it reads anything. */
export function noteArrival(): void {
  arrivals++;
}

/** Requests received so far (see {@link noteArrival}). */
export function arrivalCount(): number {
  return arrivals;
}
