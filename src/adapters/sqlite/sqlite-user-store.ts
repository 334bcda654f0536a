import type Database from 'better-sqlite3';
import type { PutMode, PutResult, UserRecord, UserStore } from '../../ports/user-store.js';
import { idsParam, type SqliteDatabase } from './database.js';
import { intOf, packed, unpack } from './sqlite-packed.js';

interface UserRow {
  id: string;
  data: string;
  created: number;
  updated: number;
}

const COLUMNS = 'id, data, created, updated';

/**
 * {@link UserStore} on SQLite: one row per (app, user id). Batch reads pass the ids as one JSON
 * array bound to `json_each`, so a page's worth of `SU:` references costs one statement.
 */
export class SqliteUserStore implements UserStore {
  readonly #d: SqliteDatabase;
  readonly #select: Database.Statement;
  readonly #selectMany: Database.Statement;
  readonly #selectManyPacked: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #replace: Database.Statement;
  readonly #update: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #put: Database.Transaction<(a: number, users: readonly UserRecord[], mode: PutMode) => PutResult<UserRecord>[]>;
  readonly #deleteMany: Database.Transaction<(a: number, ids: readonly string[]) => string[]>;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    this.#select = db.prepare(`SELECT ${COLUMNS} FROM users WHERE app = ? AND id = ?`);
    // Rows as arrays (`raw`): no object with named keys built per row (a page reads ~50 users).
    // One seek per id straight from the JSON array (ids bound without repeats), no list built first.
    this.#selectMany = db
      .prepare(`SELECT u.id, u.data, u.created, u.updated FROM json_each(?) j CROSS JOIN users u ON u.app = ? AND u.id = j.value`)
      .raw();
    // The same rows packed into one text (see \`sqlite-packed.ts\`).
    this.#selectManyPacked = db
      .prepare(packed(['u.id', 'u.data', 'u.created', 'u.updated'], 'FROM json_each(?) j CROSS JOIN users u ON u.app = ? AND u.id = j.value'))
      .pluck();
    this.#insert = db.prepare(
      `INSERT INTO users (app, id, data, created, updated) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (app, id) DO NOTHING RETURNING ${COLUMNS}`,
    );
    this.#replace = db.prepare(
      `INSERT INTO users (app, id, data, created, updated) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (app, id) DO UPDATE SET data = excluded.data, updated = excluded.updated RETURNING ${COLUMNS}`,
    );
    this.#update = db.prepare(`UPDATE users SET data = ?, updated = ? WHERE app = ? AND id = ? RETURNING ${COLUMNS}`);
    this.#delete = db.prepare('DELETE FROM users WHERE app = ? AND id = ? RETURNING id').pluck();

    this.#put = db.transaction((a: number, users: readonly UserRecord[], mode: PutMode) =>
      users.map((u) => {
        const args = [a, u.id, u.data, u.createdUs, u.updatedUs];
        if (mode === 'keep') {
          const inserted = this.#insert.get(...args) as UserRow | undefined;
          if (inserted) return { record: toRecord(inserted), created: true };
          return { record: toRecord(this.#select.get(a, u.id) as UserRow), created: false };
        }
        const existed = this.#select.get(a, u.id) !== undefined;
        return { record: toRecord(this.#replace.get(...args) as UserRow), created: !existed };
      }),
    );
    this.#deleteMany = db.transaction((a: number, ids: readonly string[]) => {
      const out: string[] = [];
      for (const id of ids) if (this.#delete.get(a, id) !== undefined) out.push(id);
      return out;
    });
  }

  async getUsers(app: string, ids: readonly string[]): Promise<Map<string, UserRecord>> {
    return this.#d.read('getUsers', () => {
      const out = new Map<string, UserRecord>();
      if (ids.length === 0) return out;
      const args = [idsParam(ids), this.#d.appInt(app)];
      const v = unpack(this.#selectManyPacked.get(...args) as string, 4);
      if (v !== null) {
        for (let k = 1; k < v.length; k += 4) out.set(v[k], { id: v[k], data: v[k + 1], createdUs: intOf(v[k + 2]), updatedUs: intOf(v[k + 3]) });
        return out;
      }
      const rows = this.#selectMany.all(...args) as [string, string, number, number][];
      for (const r of rows) out.set(r[0], { id: r[0], data: r[1], createdUs: r[2], updatedUs: r[3] });
      return out;
    });
  }

  async putUsers(app: string, users: readonly UserRecord[], mode: PutMode): Promise<PutResult<UserRecord>[]> {
    return this.#d.read('putUsers', () => {
      // Intern the app before the transaction: its integer is cached and must survive a rollback.
      const a = this.#d.appInt(app);
      return this.#put.immediate(a, users, mode);
    });
  }

  async updateUser(app: string, id: string, data: string, updatedUs: number): Promise<UserRecord | null> {
    return this.#d.read('updateUser', () => {
      const row = this.#update.get(data, updatedUs, this.#d.appInt(app), id) as UserRow | undefined;
      return row ? toRecord(row) : null;
    });
  }

  async deleteUsers(app: string, ids: readonly string[]): Promise<string[]> {
    return this.#d.read('deleteUsers', () => {
      const a = this.#d.appInt(app);
      return this.#deleteMany.immediate(a, [...new Set(ids)]);
    });
  }
}

function toRecord(r: UserRow): UserRecord {
  return { id: r.id, data: r.data, createdUs: r.created, updatedUs: r.updated };
}
