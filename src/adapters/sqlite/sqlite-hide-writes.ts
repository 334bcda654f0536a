import type Database from 'better-sqlite3';
import { idToSortKey } from '../../core/activities/activity-id.js';
import type { WriteBatch } from '../../ports/write-store.js';
import type { SqliteDatabase } from './database.js';

/** Sorts below every sort key: "no lower bound". */
const NO_BOUND = Buffer.alloc(0);

/**
 * The hides and floors of hybrid fan-out (see {@link WriteBatch.hides}), applied inside the write
 * store's transaction: a follower's removal of a pulled activity, and the oldest key a feed's
 * merged reads still show.
 */
export class SqliteHideWrites {
  readonly #d: SqliteDatabase;
  readonly #hide: Database.Statement;
  readonly #raiseFloor: Database.Statement;
  readonly #unhide: Database.Statement;
  readonly #unhideFollowed: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    this.#hide = db.prepare('INSERT OR IGNORE INTO hidden (feed, sk) VALUES (?, ?)');
    this.#raiseFloor = db.prepare("UPDATE feeds SET floor = max(coalesce(floor, x''), @floor) WHERE id = @feed");
    this.#unhide = db.prepare('DELETE FROM hidden WHERE sk = ?');
    this.#unhideFollowed = db.prepare(
      `DELETE FROM hidden WHERE feed = @source AND sk >= @since
       AND EXISTS (SELECT 1 FROM entries e WHERE e.feed = @target AND e.sk = hidden.sk AND e.origin IS NULL)`,
    );
  }

  /** A new follow shows `target`'s direct entries from `since` on again: the source's hides of them go. */
  unhideFollowed(source: number, target: number, since: Buffer | null): void {
    this.#unhideFollowed.run({ source, target, since: since ?? NO_BOUND });
  }

  apply(app: string, b: WriteBatch): void {
    const d = this.#d;
    if (b.unhides) {
      for (const id of b.unhides) this.#unhide.run(idToSortKey(id));
    }
    if (b.hides) {
      for (const h of b.hides) {
        const feed = d.feedInt(app, h.feed);
        for (const id of h.ids) this.#hide.run(feed, idToSortKey(id));
        if (h.floor !== undefined) this.#raiseFloor.run({ feed, floor: idToSortKey(h.floor) });
      }
    }
  }
}
