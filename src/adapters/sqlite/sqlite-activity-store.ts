import type Database from 'better-sqlite3';
import { idToSortKey } from '../../core/activities/activity-id.js';
import type { ActivityRecord } from '../../ports/activity-store.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  id: string;
  foreign_id: string;
  time: number;
  home: number;
  to_feeds: string;
  body: string;
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
      for (const r of this.#byIds.all(this.#d.appInt(app), keys) as Row[]) {
        out.set(r.id, {
          id: r.id,
          timeUs: r.time,
          foreignId: r.foreign_id,
          to: r.to_feeds === '' ? [] : r.to_feeds.split(','),
          body: r.body,
          home: this.#d.feedName(r.home),
        });
      }
      return out;
    }, 'content');
  }
}
