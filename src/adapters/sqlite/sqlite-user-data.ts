import type Database from 'better-sqlite3';
import { idToSortKey } from '../../core/activities/activity-id.js';
import type { EntryRef } from '../../ports/collection-store.js';
import type { UserDataIndex } from '../../ports/user-data.js';
import type { SqliteDatabase } from './database.js';

/**
 * {@link UserDataIndex} on SQLite, over the indexes `activities_actor` (on the actor inside the
 * stored JSON; the expression here must stay the one indexed) and `collection_entries_owner`.
 */
export class SqliteUserData implements UserDataIndex {
  readonly #d: SqliteDatabase;
  readonly #byActor: Database.Statement;
  readonly #owned: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    this.#byActor = d.db
      .prepare("SELECT id FROM activities INDEXED BY activities_actor WHERE app = ? AND json_extract(body, '$.actor') = ? AND sk > ? ORDER BY sk LIMIT +?")
      .pluck();
    this.#owned = d.db.prepare('SELECT collection, id FROM collection_entries WHERE app = ? AND user_id = ? LIMIT +?');
  }

  async activityIdsByActor(app: string, actor: string, afterId: string | null, limit: number): Promise<string[]> {
    return this.#d.read('activityIdsByActor', () =>
      this.#byActor.all(this.#d.appInt(app), actor, afterId === null ? Buffer.alloc(0) : idToSortKey(afterId), limit) as string[],
    );
  }

  async entriesOwnedBy(app: string, userId: string, limit: number): Promise<EntryRef[]> {
    return this.#d.read('entriesOwnedBy', () => this.#owned.all(this.#d.appInt(app), userId, limit) as EntryRef[]);
  }
}
