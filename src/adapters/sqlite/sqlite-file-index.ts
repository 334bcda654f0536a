import type Database from 'better-sqlite3';
import type { FileIndex, FileRecord } from '../../ports/file-index.js';
import type { SqliteDatabase } from './database.js';

export interface FileRow {
  id: string;
  name: string;
  kind: 'file' | 'image';
  content_type: string;
  size: number;
  owner: string | null;
  parent: string | null;
  variant: string | null;
  created: number;
}

export const COLUMNS = 'id, name, kind, content_type, size, owner, parent, variant, created';

/** {@link FileIndex} on SQLite: one row per (app, file id); variants are unique per (parent, variant). */
export class SqliteFileIndex implements FileIndex {
  readonly #d: SqliteDatabase;
  readonly #insert: Database.Statement;
  readonly #selectMany: Database.Statement;
  readonly #selectVariant: Database.Statement;
  readonly #deleteOne: Database.Statement;
  readonly #deleteChildren: Database.Statement;
  readonly #byOwner: Database.Statement;
  readonly #delete: Database.Transaction<(a: number, ids: readonly string[]) => FileRecord[]>;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    this.#insert = db.prepare(
      `INSERT INTO files (app, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    );
    this.#selectMany = db.prepare(`SELECT ${COLUMNS} FROM files WHERE app = ? AND id IN (SELECT value FROM json_each(?))`);
    this.#selectVariant = db.prepare(`SELECT ${COLUMNS} FROM files WHERE app = ? AND parent = ? AND variant = ?`);
    this.#deleteOne = db.prepare(`DELETE FROM files WHERE app = ? AND id = ? RETURNING ${COLUMNS}`);
    this.#deleteChildren = db.prepare(`DELETE FROM files WHERE app = ? AND parent = ? RETURNING ${COLUMNS}`);
    this.#byOwner = db.prepare(`SELECT ${COLUMNS} FROM files WHERE app = ? AND owner = ? ORDER BY created, id`);
    this.#delete = db.transaction((a: number, ids: readonly string[]) => {
      const out: FileRecord[] = [];
      for (const id of ids) {
        const row = this.#deleteOne.get(a, id) as FileRow | undefined;
        if (!row) continue;
        out.push(toRecord(row));
        for (const child of this.#deleteChildren.all(a, id) as FileRow[]) out.push(toRecord(child));
      }
      return out;
    });
  }

  async addFile(app: string, file: FileRecord): Promise<{ record: FileRecord; created: boolean }> {
    return this.#d.read('addFile', () => {
      const a = this.#d.appInt(app);
      const row = this.#insert.get(
        a, file.id, file.name, file.kind, file.contentType, file.size, file.owner, file.parent, file.variant, file.createdUs,
      ) as FileRow | undefined;
      if (row) return { record: toRecord(row), created: true };
      // The insert conflicted: a variant already recorded (ids are random, so not the primary key).
      const existing = file.parent !== null && file.variant !== null ? (this.#selectVariant.get(a, file.parent, file.variant) as FileRow | undefined) : undefined;
      if (!existing) throw new Error(`file id ${file.id} is already taken`);
      return { record: toRecord(existing), created: false };
    });
  }

  async getFiles(app: string, ids: readonly string[]): Promise<Map<string, FileRecord>> {
    return this.#d.read('getFiles', () => {
      const out = new Map<string, FileRecord>();
      if (ids.length === 0) return out;
      for (const r of this.#selectMany.all(this.#d.appInt(app), JSON.stringify(ids)) as FileRow[]) out.set(r.id, toRecord(r));
      return out;
    });
  }

  async findVariant(app: string, parent: string, variant: string): Promise<FileRecord | null> {
    return this.#d.read('findVariant', () => {
      const row = this.#selectVariant.get(this.#d.appInt(app), parent, variant) as FileRow | undefined;
      return row ? toRecord(row) : null;
    });
  }

  async deleteFiles(app: string, ids: readonly string[]): Promise<FileRecord[]> {
    return this.#d.read('deleteFiles', () => {
      const a = this.#d.appInt(app);
      return this.#delete.immediate(a, [...new Set(ids)]);
    });
  }

  async filesOf(app: string, owner: string): Promise<FileRecord[]> {
    return this.#d.read('filesOf', () => (this.#byOwner.all(this.#d.appInt(app), owner) as FileRow[]).map(toRecord));
  }
}

export function toRecord(r: FileRow): FileRecord {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    contentType: r.content_type,
    size: r.size,
    owner: r.owner,
    parent: r.parent,
    variant: r.variant,
    createdUs: r.created,
  };
}
