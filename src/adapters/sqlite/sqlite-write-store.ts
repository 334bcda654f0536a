import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyAtTime } from '../../core/activities/activity-id.js';
import type { EntryWrite, WriteBatch, WriteStore } from '../../ports/write-store.js';
import type { SqliteDatabase } from './database.js';
import { SqliteGroups } from './sqlite-groups.js';
import { SqliteHideWrites } from './sqlite-hide-writes.js';
import { SqliteReactionWrites } from './sqlite-reaction-store.js';

/**
 * {@link WriteStore} on SQLite: each batch is one IMMEDIATE transaction. Entry inserts are
 * `INSERT OR IGNORE` on (feed, sort key), so a replayed fan-out chunk is a no-op; each feed keeps
 * an entry count so trimming to max length costs nothing until a feed is full.
 */
export class SqliteWriteStore implements WriteStore {
  readonly #d: SqliteDatabase;
  readonly #groups: SqliteGroups;
  readonly #reactions: SqliteReactionWrites;
  readonly #tx: Database.Transaction<(app: string, batch: WriteBatch) => void>;
  readonly #upsertActivity: Database.Statement;
  readonly #insertEntry: Database.Statement;
  readonly #deleteEntry: Database.Statement;
  readonly #deleteEntryFrom: Database.Statement;
  readonly #deleteByOrigin: Database.Statement;
  readonly #addCount: Database.Statement;
  readonly #addCountReturning: Database.Statement;
  readonly #trim: Database.Statement;
  readonly #follow: Database.Statement;
  readonly #unfollow: Database.Statement;
  readonly #followerCount: Database.Statement;
  readonly #enqueue: Database.Statement;
  readonly #progress: Database.Statement;
  readonly #complete: Database.Statement;
  readonly #hides: SqliteHideWrites;

  /** `groups` is shared with the other stores of the same database (one set of statements). */
  constructor(d: SqliteDatabase, groups: SqliteGroups = new SqliteGroups(d)) {
    this.#d = d;
    this.#groups = groups;
    this.#reactions = new SqliteReactionWrites(d);
    const db = d.db;
    this.#upsertActivity = db.prepare(
      `INSERT INTO activities (app, sk, id, foreign_id, time, home, to_feeds, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, sk) DO UPDATE SET foreign_id = excluded.foreign_id, time = excluded.time,
         to_feeds = excluded.to_feeds, body = excluded.body`,
    );
    this.#insertEntry = db.prepare('INSERT OR IGNORE INTO entries (feed, sk, origin) VALUES (?, ?, ?)');
    // RETURNING grp tells which aggregated groups lost an activity.
    this.#deleteEntry = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? RETURNING grp');
    this.#deleteEntryFrom = db.prepare('DELETE FROM entries WHERE feed = ? AND sk = ? AND origin IS ? RETURNING grp');
    this.#deleteByOrigin = db.prepare('DELETE FROM entries WHERE feed = ? AND origin = ? RETURNING grp');
    this.#addCount = db.prepare('UPDATE feeds SET n = n + ? WHERE id = ?');
    this.#addCountReturning = db.prepare('UPDATE feeds SET n = n + ? WHERE id = ? RETURNING n').pluck();
    this.#trim = db.prepare(
      'DELETE FROM entries WHERE feed = @feed AND sk IN (SELECT sk FROM entries WHERE feed = @feed ORDER BY sk LIMIT @excess)',
    );
    this.#follow = db.prepare('INSERT OR IGNORE INTO follows (target, source, created, grouped, since) VALUES (?, ?, ?, ?, ?)');
    this.#unfollow = db.prepare('DELETE FROM follows WHERE target = ? AND source = ?');
    this.#followerCount = db.prepare(
      'UPDATE feeds SET followers = followers + @delta, pull = CASE WHEN followers + @delta > @above THEN 1 ELSE pull END WHERE id = @id',
    );
    this.#enqueue = db.prepare('INSERT INTO outbox (app, kind, source, ids) VALUES (?, ?, ?, ?)');
    this.#progress = db.prepare('UPDATE outbox SET cursor = ? WHERE id = ?');
    this.#complete = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.#hides = new SqliteHideWrites(d);
    this.#tx = db.transaction((app: string, batch: WriteBatch) => this.apply(app, batch));
  }

  async commit(app: string, batch: WriteBatch): Promise<void> {
    this.#d.guard('commit', () => {
      try {
        this.#tx.immediate(app, batch);
      } catch (err) {
        // Feed integers interned inside the rolled-back transaction no longer exist.
        this.#d.forgetFeeds();
        throw err;
      }
    });
  }

  private apply(app: string, b: WriteBatch): void {
    const d = this.#d;
    const a = d.appInt(app);
    if (b.activities) {
      for (const act of b.activities) {
        this.#upsertActivity.run(a, idToSortKey(act.id), act.id, act.foreignId, act.timeUs, d.feedInt(app, act.home), act.to.join(','), act.body);
      }
    }
    if (b.follows) {
      for (const f of b.follows) {
        const t = d.feedInt(app, f.target);
        const since = !f.since ? null : 'id' in f.since ? idToSortKey(f.since.id) : sortKeyAtTime(f.since.timeUs);
        if (this.#follow.run(t, d.feedInt(app, f.source), f.createdUs, f.grouped ? 1 : 0, since).changes > 0) {
          this.#followerCount.run({ delta: 1, above: f.pullAbove ?? Number.MAX_SAFE_INTEGER, id: t });
        }
      }
    }
    if (b.unfollows) {
      for (const f of b.unfollows) {
        const t = d.findFeed(app, f.target);
        const s = d.findFeed(app, f.source);
        if (t !== undefined && s !== undefined && this.#unfollow.run(t, s).changes > 0) {
          this.#followerCount.run({ delta: -1, above: Number.MAX_SAFE_INTEGER, id: t });
        }
      }
    }
    if (b.removals) {
      for (const r of b.removals) {
        const f = d.findFeed(app, r.feed);
        if (f === undefined) continue;
        const origin = r.origin === undefined ? undefined : r.origin === null ? null : d.findFeed(app, r.origin);
        if (origin === undefined && r.origin !== undefined) continue; // origin feed never existed: nothing came from it
        const rows: { grp: number | null }[] = [];
        for (const id of r.ids) {
          const sk = idToSortKey(id);
          rows.push(...((r.origin === undefined ? this.#deleteEntry.all(f, sk) : this.#deleteEntryFrom.all(f, sk, origin)) as { grp: number | null }[]));
        }
        this.afterRemoval(app, f, rows);
      }
    }
    if (b.removeByOrigin) {
      for (const r of b.removeByOrigin) {
        const f = d.findFeed(app, r.feed);
        const o = d.findFeed(app, r.origin);
        if (f === undefined || o === undefined) continue;
        this.afterRemoval(app, f, this.#deleteByOrigin.all(f, o) as { grp: number | null }[]);
      }
    }
    if (b.entries && b.entries.length > 0) this.insertEntries(app, b.entries);
    if (b.enqueue) {
      for (const j of b.enqueue) this.#enqueue.run(a, j.kind, j.source, j.ids.join(','));
    }
    if (b.reactions) this.#reactions.apply(app, b.reactions);
    if (b.marks) {
      for (const m of b.marks) {
        const f = d.findFeed(app, m.feed);
        if (f !== undefined) this.#groups.mark(f, m);
      }
    }
    if (b.progress) {
      for (const p of b.progress) this.#progress.run(p.cursor, p.jobId);
    }
    if (b.complete) {
      for (const id of b.complete) this.#complete.run(id);
    }
    if (b.hides || b.unhides || b.follows) this.#hides.apply(app, b);
  }

  /** Keeps flat counts and aggregated groups right after entries were deleted. */
  private afterRemoval(app: string, feed: number, rows: { grp: number | null }[]): void {
    let flat = 0;
    let groups: Map<number, number> | null = null;
    for (const r of rows) {
      if (r.grp === null) flat++;
      else (groups ??= new Map()).set(r.grp, (groups.get(r.grp) ?? 0) + 1);
    }
    if (flat > 0) this.#addCount.run(-flat, feed);
    if (groups) this.#groups.afterRemoval(app, feed, groups);
  }

  private insertEntries(app: string, entries: readonly EntryWrite[]): void {
    const d = this.#d;
    // Group by feed so each feed's count and trim are touched once per batch.
    const byFeed = new Map<string, EntryWrite[]>();
    for (const e of entries) {
      const list = byFeed.get(e.feed);
      if (list) list.push(e);
      else byFeed.set(e.feed, [e]);
    }
    // A fan-out chunk writes the same few ids into many feeds: convert each id once.
    const keys = new Map<string, Buffer>();
    for (const [feed, list] of byFeed) {
      const f = d.feedInt(app, feed);
      let added = 0;
      let max = Infinity;
      for (const e of list) {
        const origin = e.origin === null ? null : d.feedInt(app, e.origin);
        if (e.group) {
          this.#groups.place(app, f, e.id, origin, e.group);
          continue;
        }
        let sk = keys.get(e.id);
        if (sk === undefined) keys.set(e.id, (sk = idToSortKey(e.id)));
        added += this.#insertEntry.run(f, sk, origin).changes;
        if (e.maxLength < max) max = e.maxLength;
      }
      if (added === 0) continue;
      // One statement both counts and tells whether the feed is over its length.
      const n = this.#addCountReturning.get(added, f) as number;
      if (n > max) {
        const excess = n - max;
        const trimmed = this.#trim.run({ feed: f, excess }).changes;
        this.#addCount.run(-trimmed, f);
      }
    }
  }
}
