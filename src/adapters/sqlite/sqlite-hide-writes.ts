import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/** Sorts below every sort key: "no lower bound". */
const NO_BOUND = Buffer.alloc(0);

/**
 * What a follow step does to the hides of hybrid fan-out (a follower's removals of activities it
 * saw through a pull-served feed, see the `hide` per-feed operation): inside the step's
 * transaction, the source's hides of what the follow shows again are forgotten.
 */
export class SqliteHideWrites {
  readonly #unhideFollowed: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#unhideFollowed = d.db.prepare(
      `DELETE FROM hidden WHERE feed = @source AND sk >= @since
       AND (EXISTS (SELECT 1 FROM entries e WHERE e.feed = @target AND e.sk = hidden.sk AND e.origin IS NULL)
         OR EXISTS (SELECT 1 FROM recent_entries r WHERE r.feed = @target AND r.sk = hidden.sk AND r.origin IS NULL))`,
    );
  }

  /** A new follow shows `target`'s direct entries from `since` on again: the source's hides of them go. */
  unhideFollowed(source: number, target: number, since: Buffer | null): void {
    this.#unhideFollowed.run({ source, target, since: since ?? NO_BOUND });
  }
}
