import type Database from 'better-sqlite3';
import type { ModelSnapshot, ModelStore, NewModelSnapshot } from '../../ports/model-store.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  version: number;
  seq: number;
  updates: number;
  created: number;
  model: Buffer;
  state: Buffer;
}

/**
 * {@link ModelStore} on the embedded store's database: `p_models(app, version, seq, updates,
 * created, model, state)`, one row per snapshot, the newest `keep` kept. Its table is created here
 * (IF NOT EXISTS), apart from the feed schema's migrations. Saving is one transaction (insert,
 * then trim), so a reader sees a whole snapshot or the previous one.
 */
export class SqliteModelStore implements ModelStore {
  readonly #d: SqliteDatabase;
  readonly #insert: Database.Statement;
  readonly #trim: Database.Statement;
  readonly #latest: Database.Statement;
  readonly #version: Database.Statement;
  readonly #save: Database.Transaction<(app: number, s: NewModelSnapshot, keep: number) => number>;
  readonly #remote: ((app: string, s: NewModelSnapshot, keep: number) => Promise<number>) | null;

  /**
   * `save`, when given, hands a snapshot to the store's group commit (on the writer thread, where
   * the store has one), which calls {@link saveNow}: the commit and its `fsync` then do not hold
   * the thread that answers reads. Without it, a save is its own transaction on `d`.
   */
  constructor(d: SqliteDatabase, save?: (app: string, s: NewModelSnapshot, keep: number) => Promise<number>) {
    this.#remote = save ?? null;
    this.#d = d;
    const db = d.db;
    db.exec(`CREATE TABLE IF NOT EXISTS p_models (
      app INTEGER NOT NULL,
      version INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      updates REAL NOT NULL,
      created INTEGER NOT NULL,
      model BLOB NOT NULL,
      state BLOB NOT NULL,
      PRIMARY KEY (app, version)
    ) WITHOUT ROWID`);
    this.#version = db.prepare('SELECT max(version) FROM p_models WHERE app = ?').pluck();
    this.#insert = db.prepare('INSERT INTO p_models (app, version, seq, updates, created, model, state) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#trim = db.prepare('DELETE FROM p_models WHERE app = ? AND version <= ?');
    this.#latest = db.prepare('SELECT version, seq, updates, created, model, state FROM p_models WHERE app = ? ORDER BY version DESC LIMIT 1');
    this.#save = db.transaction((app: number, s: NewModelSnapshot, keep: number) => this.insert(app, s, keep));
  }

  private insert(app: number, s: NewModelSnapshot, keep: number): number {
    const version = ((this.#version.get(app) as number | null) ?? 0) + 1;
    this.#insert.run(app, version, s.seq, s.updates, s.createdUs, Buffer.from(s.model.buffer, s.model.byteOffset, s.model.byteLength), Buffer.from(s.state.buffer, s.state.byteOffset, s.state.byteLength));
    this.#trim.run(app, version - Math.max(1, keep));
    return version;
  }

  /** Saves inside the caller's transaction (the group commit's named operation). */
  saveNow(app: string, s: NewModelSnapshot, keep: number): number {
    return this.insert(this.#d.appInt(app), s, keep);
  }

  async saveSnapshot(app: string, s: NewModelSnapshot, keep: number): Promise<number> {
    if (this.#remote !== null) return this.#remote(app, s, keep);
    return this.#d.guard('saveSnapshot', () => this.#save.immediate(this.#d.appInt(app), s, keep));
  }

  async latestSnapshot(app: string): Promise<ModelSnapshot | null> {
    return this.#d.guard('latestSnapshot', () => {
      const r = this.#latest.get(this.#d.appInt(app)) as Row | undefined;
      if (r === undefined) return null;
      return { version: r.version, seq: r.seq, updates: r.updates, createdUs: r.created, model: new Uint8Array(r.model), state: new Uint8Array(r.state) };
    });
  }

  async latestVersion(app: string): Promise<number | null> {
    return this.#d.guard('latestVersion', () => (this.#version.get(this.#d.appInt(app)) as number | null) ?? null);
  }
}
