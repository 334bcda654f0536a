import type { WriteBatch } from './write-store.js';
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
  app: (app: string) => `*|${app}`,
} as const;

/**
 * The keys a write batch changes (see {@link changeKey}); stores record them with the batch.
 * Direct entries of pull-served feeds ({@link changeKey.pulled}) are the store's to add: only it
 * knows which feeds are served by pull.
 */
export function batchChanges(app: string, b: WriteBatch & { readonly signals?: SignalWrites }): Set<string> {
  const keys = new Set<string>();
  const feed = (fid: string) => keys.add(changeKey.feed(app, fid));
  const activity = (id: string) => keys.add(changeKey.activity(app, id));
  for (const a of b.activities ?? []) activity(a.id);
  for (const e of b.entries ?? []) feed(e.feed);
  for (const r of b.removals ?? []) {
    feed(r.feed);
    for (const id of r.ids) activity(id);
  }
  for (const r of b.removeByOrigin ?? []) feed(r.feed);
  for (const f of b.follows ?? []) feed(f.source);
  for (const f of b.unfollows ?? []) feed(f.source);
  const r = b.reactions;
  if (r) {
    const reaction = (x: { id: string; activityId: string; parent: string }) => {
      keys.add(changeKey.reactions(app, x.activityId));
      keys.add(changeKey.reaction(app, x.id));
      if (x.parent) keys.add(changeKey.reaction(app, x.parent));
    };
    for (const x of r.add ?? []) reaction(x);
    for (const x of r.update ?? []) reaction(x);
    for (const x of r.remove ?? []) reaction(x);
    for (const x of r.softDelete ?? []) reaction(x.reaction);
    for (const x of r.restore ?? []) reaction(x);
  }
  for (const m of b.marks ?? []) feed(m.feed);
  for (const h of b.hides ?? []) feed(h.feed);
  // Which feeds hid an activity is not in the batch: every read may show it again.
  if ((b.unhides?.length ?? 0) > 0) keys.add(changeKey.app(app));
  for (const id of b.erase ?? []) activity(id);
  const s = b.signals;
  // Personalization data that ranked reads score with; the job queue of content processing is not.
  if (s && ((s.events?.length ?? 0) > 0 || (s.profile?.length ?? 0) > 0 || (s.tags?.length ?? 0) > 0 || (s.hides?.length ?? 0) > 0)) {
    keys.add(changeKey.signals(app));
  }
  return keys;
}
