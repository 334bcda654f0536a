import type Database from 'better-sqlite3';
import type { CollectionStore, EntryRecord, EntryRef, EntryWriteOutcome } from '../../ports/collection-store.js';
import type { PutMode, PutResult } from '../../ports/user-store.js';
import type { SqliteDatabase } from './database.js';
import { intOf, packed, unpack } from './sqlite-packed.js';

/** An {@link EntryRow} as an array, in {@link COLUMNS} order. */
type RawEntryRow = [string, string, string | null, string, number, number];

interface EntryRow {
  collection: string;
  id: string;
  user_id: string | null;
  data: string;
  created: number;
  updated: number;
}

const COLUMNS = 'collection, id, user_id, data, created, updated';

/**
 * {@link CollectionStore} on SQLite: one row per (app, collection, id). Batch reads bind the refs as
 * one JSON array of `[collection, id]` pairs and probe the primary key once per pair, in one statement.
 */
export class SqliteCollectionStore implements CollectionStore {
  readonly #d: SqliteDatabase;
  readonly #select: Database.Statement;
  readonly #selectMany: Database.Statement;
  readonly #selectManyPacked: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #replace: Database.Statement;
  readonly #owner: Database.Statement;
  readonly #update: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #put: Database.Transaction<(a: number, entries: readonly EntryRecord[], mode: PutMode) => PutResult<EntryRecord>[]>;
  readonly #updateTx: Database.Transaction<
    (a: number, ref: EntryRef, data: string, updatedUs: number, ifOwner: string | undefined) => EntryWriteOutcome<EntryRecord>
  >;
  readonly #deleteTx: Database.Transaction<(a: number, refs: readonly EntryRef[], ifOwner: string | undefined) => EntryWriteOutcome<null>[]>;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    this.#select = db.prepare(`SELECT ${COLUMNS} FROM collection_entries WHERE app = ? AND collection = ? AND id = ?`);
    // Rows as arrays (`raw`): no object with named keys built per row.
    this.#selectMany = db
      .prepare(
        `SELECT ${COLUMNS} FROM collection_entries
       WHERE app = ? AND (collection, id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))`,
      )
      .raw();
    // The same rows packed into one text (see \`sqlite-packed.ts\`), one seek per pair; `user_id`
    // as '' when NULL, with a column telling which.
    this.#selectManyPacked = db
      .prepare(
        packed(
          ['e.collection', 'e.id', "ifnull(e.user_id, '')", 'e.user_id IS NULL', 'e.data', 'e.created', 'e.updated'],
          'FROM json_each(?) j CROSS JOIN collection_entries e ON e.app = ? AND e.collection = j.value ->> 0 AND e.id = j.value ->> 1',
        ),
      )
      .pluck();
    this.#insert = db.prepare(
      `INSERT INTO collection_entries (app, collection, id, user_id, data, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, collection, id) DO NOTHING RETURNING ${COLUMNS}`,
    );
    this.#replace = db.prepare(
      `INSERT INTO collection_entries (app, collection, id, user_id, data, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, collection, id) DO UPDATE SET data = excluded.data, updated = excluded.updated,
         user_id = coalesce(excluded.user_id, user_id)
       RETURNING ${COLUMNS}`,
    );
    this.#owner = db.prepare('SELECT user_id FROM collection_entries WHERE app = ? AND collection = ? AND id = ?');
    this.#update = db.prepare(
      `UPDATE collection_entries SET data = ?, updated = ? WHERE app = ? AND collection = ? AND id = ? RETURNING ${COLUMNS}`,
    );
    this.#delete = db.prepare('DELETE FROM collection_entries WHERE app = ? AND collection = ? AND id = ?');

    this.#put = db.transaction((a: number, entries: readonly EntryRecord[], mode: PutMode) =>
      entries.map((e) => {
        const args = [a, e.collection, e.id, e.userId, e.data, e.createdUs, e.updatedUs];
        if (mode === 'keep') {
          const inserted = this.#insert.get(...args) as EntryRow | undefined;
          if (inserted) return { record: toRecord(inserted), created: true };
          return { record: toRecord(this.#select.get(a, e.collection, e.id) as EntryRow), created: false };
        }
        const existed = this.#select.get(a, e.collection, e.id) !== undefined;
        return { record: toRecord(this.#replace.get(...args) as EntryRow), created: !existed };
      }),
    );
    this.#updateTx = db.transaction((a: number, ref: EntryRef, data: string, updatedUs: number, ifOwner: string | undefined) => {
      const check = this.#check(a, ref, ifOwner);
      if (check) return check;
      const row = this.#update.get(data, updatedUs, a, ref.collection, ref.id) as EntryRow;
      return { kind: 'done' as const, value: toRecord(row) };
    });
    this.#deleteTx = db.transaction((a: number, refs: readonly EntryRef[], ifOwner: string | undefined) =>
      refs.map((ref) => {
        const check = this.#check(a, ref, ifOwner);
        if (check) return check;
        this.#delete.run(a, ref.collection, ref.id);
        return { kind: 'done' as const, value: null };
      }),
    );
  }

  /** The refusal for a conditional write, or `null` when it may proceed. */
  #check(a: number, ref: EntryRef, ifOwner: string | undefined): { kind: 'missing' } | { kind: 'not_owner' } | null {
    const row = this.#owner.get(a, ref.collection, ref.id) as { user_id: string | null } | undefined;
    if (!row) return { kind: 'missing' };
    if (ifOwner !== undefined && row.user_id !== ifOwner) return { kind: 'not_owner' };
    return null;
  }

  async getEntries(app: string, refs: readonly EntryRef[]): Promise<Map<string, EntryRecord>> {
    return this.#d.read('getEntries', () => {
      const out = new Map<string, EntryRecord>();
      if (refs.length === 0) return out;
      const pairs = JSON.stringify(refs.map((r) => [r.collection, r.id]));
      const a = this.#d.appInt(app);
      const v = unpack(this.#selectManyPacked.get(pairs, a) as string, 7);
      if (v !== null) {
        for (let k = 1; k < v.length; k += 7) {
          const collection = v[k];
          const id = v[k + 1];
          out.set(`${collection}:${id}`, { collection, id, userId: v[k + 3] === '1' ? null : v[k + 2], data: v[k + 4], createdUs: intOf(v[k + 5]), updatedUs: intOf(v[k + 6]) });
        }
        return out;
      }
      for (const r of this.#selectMany.all(a, pairs) as RawEntryRow[]) {
        out.set(`${r[0]}:${r[1]}`, { collection: r[0], id: r[1], userId: r[2], data: r[3], createdUs: r[4], updatedUs: r[5] });
      }
      return out;
    });
  }

  async putEntries(app: string, entries: readonly EntryRecord[], mode: PutMode): Promise<PutResult<EntryRecord>[]> {
    return this.#d.read('putEntries', () => {
      // Intern the app before the transaction: its integer is cached and must survive a rollback.
      const a = this.#d.appInt(app);
      return this.#put.immediate(a, entries, mode);
    });
  }

  async updateEntry(app: string, ref: EntryRef, data: string, updatedUs: number, ifOwner?: string): Promise<EntryWriteOutcome<EntryRecord>> {
    return this.#d.read('updateEntry', () => {
      const a = this.#d.appInt(app);
      return this.#updateTx.immediate(a, ref, data, updatedUs, ifOwner);
    });
  }

  async deleteEntries(app: string, refs: readonly EntryRef[], ifOwner?: string): Promise<EntryWriteOutcome<null>[]> {
    return this.#d.read('deleteEntries', () => {
      const a = this.#d.appInt(app);
      return this.#deleteTx.immediate(a, refs, ifOwner);
    });
  }
}

function toRecord(r: EntryRow): EntryRecord {
  return { collection: r.collection, id: r.id, userId: r.user_id, data: r.data, createdUs: r.created, updatedUs: r.updated };
}
