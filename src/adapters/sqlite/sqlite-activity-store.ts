import type Database from 'better-sqlite3';
import { idToSortKey } from '../../core/activities/activity-id.js';
import type { ActivityRecord } from '../../ports/activity-store.js';
import type { SqliteDatabase } from './database.js';

/** A row of the `activities` table, as the activity readers select it. */
export interface ActivityRow {
  id: string;
  foreign_id: string;
  time: number;
  home: number;
  to_feeds: string;
  body: string;
}

/** The activity record of a row (its home feed's name resolved through `d`'s feed cache). */
export function activityFromRow(d: SqliteDatabase, r: ActivityRow): ActivityRecord {
  return {
    id: r.id,
    timeUs: r.time,
    foreignId: r.foreign_id,
    to: r.to_feeds === '' ? [] : r.to_feeds.split(','),
    body: r.body,
    home: d.feedName(r.home),
  };
}

/** Activity records by id on SQLite (see `SqliteActivities`): one query per batch through `json_each`. */
export class SqliteActivityStore {
  readonly #d: SqliteDatabase;
  readonly #byIds: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    this.#byIds = d.db.prepare(
      `SELECT id, foreign_id, time, home, to_feeds, body FROM activities
       WHERE app = ? AND sk IN (SELECT unhex(value) FROM json_each(?))`,
    );
  }

  async getActivities(app: string, ids: readonly string[]): Promise<Map<string, ActivityRecord>> {
    const out = new Map<string, ActivityRecord>();
    if (ids.length === 0) return out;
    return this.#d.read('getActivities', () => {
      const keys = JSON.stringify(ids.map((id) => idToSortKey(id).toString('hex')));
      for (const r of this.#byIds.all(this.#d.appInt(app), keys) as ActivityRow[]) out.set(r.id, activityFromRow(this.#d, r));
      return out;
    }, 'content');
  }
}
