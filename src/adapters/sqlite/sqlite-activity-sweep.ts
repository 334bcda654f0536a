import { changeKey } from '../../ports/change-marks.js';
import type { SqliteChangeMarks } from './sqlite-change-marks.js';
import type Database from 'better-sqlite3';
import type { ActivitySweepStep } from '../../ports/store.js';
import type { SqliteDatabase } from './database.js';

/**
 * Deletes activities no feed holds any more, a bounded step at a time ({@link Store.sweepActivities}).
 *
 * An activity row stays while anything may still show or need it:
 * - an entry of any feed of the app (flat feeds, `to` targets, fan-out copies, aggregated and
 *   notification groups' activities). Feeds served by pull are read from the author's own feed's
 *   entries, so they need nothing more;
 * - a queued or dead-lettered fan-out job naming it (it will be pushed into follower feeds);
 * - a personalization hide (`p_hidden`), which puts the activity back when undone.
 * Reactions do not keep an activity: they stay, and read as reactions to an activity that is gone.
 *
 * With a retention, an activity is first marked (`orphans`, since when it was found unheld) and
 * deleted by a later step once the retention has passed and it is still unheld; a mark whose
 * activity is held again is dropped. Each step is one IMMEDIATE transaction over at most `limit`
 * activities, so writers wait for it no longer than for a fan-out chunk.
 */
export class SqliteActivitySweep {
  readonly #d: SqliteDatabase;
  readonly #lastOfPage: Database.Statement;
  readonly #unheld: Database.Statement;
  readonly #queued: Database.Statement;
  readonly #hiddenByUser: Database.Statement;
  readonly #unmark: Database.Statement;
  readonly #mark: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #deleteMark: Database.Statement;
  readonly #deleteHides: Database.Statement;
  readonly #deleteTags: Database.Statement;
  readonly #step: Database.Transaction<(app: number, after: Buffer, limit: number, now: number, retention: number, appId: string) => ActivitySweepStep>;
  readonly #marks: SqliteChangeMarks | null;

  /** `marks`: where the deletions leave their change marks (pages referencing a deleted activity change). */
  constructor(d: SqliteDatabase, marks: SqliteChangeMarks | null = null) {
    this.#marks = marks;
    this.#d = d;
    const db = d.db;
    this.#lastOfPage = db
      .prepare(
        `SELECT max(sk) AS last, count(*) AS n FROM
           (SELECT sk FROM activities WHERE app = ? AND sk > ? ORDER BY sk LIMIT +?)`,
      )
      .raw();
    // `entries_sk` (and `recent_entries_sk` for the recent entries) answers whether any feed holds the sort key; the feed's app tells it is this
    // app's activity (ids are not unique across apps). The app is looked up per entry found, so
    // that SQLite never walks the app's feeds instead.
    this.#unheld = db.prepare(
      `SELECT a.sk, a.id, o.since FROM activities a
         LEFT JOIN orphans o ON o.app = a.app AND o.sk = a.sk
       WHERE a.app = @app AND a.sk > @after AND a.sk <= @last
         AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.sk = a.sk AND (SELECT app FROM feeds WHERE id = e.feed) = a.app)
         AND NOT EXISTS (SELECT 1 FROM recent_entries r WHERE r.sk = a.sk AND (SELECT app FROM feeds WHERE id = r.feed) = a.app)`,
    );
    // Dead-lettered jobs too: an operator may queue them again.
    this.#queued = db.prepare('SELECT ids FROM outbox WHERE app = @app UNION ALL SELECT ids FROM outbox_dead WHERE app = @app').pluck();
    this.#hiddenByUser = db.prepare('SELECT activity FROM p_hidden WHERE app = ?').pluck();
    this.#unmark = db.prepare(
      `DELETE FROM orphans WHERE app = @app AND sk > @after AND sk <= @last
         AND (EXISTS (SELECT 1 FROM entries e WHERE e.sk = orphans.sk AND (SELECT app FROM feeds WHERE id = e.feed) = orphans.app)
           OR EXISTS (SELECT 1 FROM recent_entries r WHERE r.sk = orphans.sk AND (SELECT app FROM feeds WHERE id = r.feed) = orphans.app))`,
    );
    this.#mark = db.prepare('INSERT OR IGNORE INTO orphans (app, sk, since) VALUES (?, ?, ?)');
    this.#delete = db.prepare('DELETE FROM activities WHERE app = ? AND sk = ?');
    this.#deleteMark = db.prepare('DELETE FROM orphans WHERE app = ? AND sk = ?');
    // Hides of a deleted activity must not hide one added again later with the same id.
    this.#deleteHides = db.prepare('DELETE FROM hidden WHERE sk = ? AND (SELECT app FROM feeds WHERE id = hidden.feed) = ?');
    this.#deleteTags = db.prepare('DELETE FROM p_item_tags WHERE app = ? AND activity = ?');
    this.#step = db.transaction((app, after, limit, now, retention, appId) => {
      const [last, n] = this.#lastOfPage.get(app, after, limit) as [Buffer | null, number];
      if (last === null) return { next: null, examined: 0, deleted: 0 };
      const page = { app, after, last };
      this.#unmark.run(page);
      const rows = this.#unheld.all(page) as { sk: Buffer; id: string; since: number | null }[];
      let deleted = 0;
      const gone: string[] = [];
      if (rows.length > 0) {
        const needed = new Set<string>();
        for (const ids of this.#queued.all({ app }) as string[]) for (const id of ids.split(',')) needed.add(id);
        for (const id of this.#hiddenByUser.all(app) as string[]) needed.add(id);
        for (const r of rows) {
          if (needed.has(r.id)) continue;
          if (retention > 0 && (r.since === null || now - r.since < retention)) {
            if (r.since === null) this.#mark.run(app, r.sk, now);
            continue;
          }
          this.#delete.run(app, r.sk);
          if (r.since !== null) this.#deleteMark.run(app, r.sk);
          this.#deleteHides.run(r.sk, app);
          this.#deleteTags.run(app, r.id);
          gone.push(changeKey.activity(appId, r.id));
          deleted++;
        }
      }
      if (gone.length > 0) this.#marks?.write(gone);
      return { next: n < limit ? null : last.toString('hex'), examined: n, deleted };
    });
  }

  sweep(app: string, after: string | null, limit: number, nowMs: number, retentionMs: number): ActivitySweepStep {
    return this.#d.guard('sweepActivities', () => {
      const a = this.#d.appInt(app);
      return this.#step.immediate(a, after === null ? Buffer.alloc(0) : Buffer.from(after, 'hex'), limit, nowMs, retentionMs, app);
    });
  }
}
