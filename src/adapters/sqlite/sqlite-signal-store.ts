import type Database from 'better-sqlite3';
import type { ContentJob, ContentTag, TagSource } from '../../ports/content-tag-store.js';
import type { EventKind, EventRecord, EventSource } from '../../ports/event-log.js';
import type { ProfileDimension, ProfileSource, ProfileWeight } from '../../ports/profile-store.js';
import type { HiddenActivity, HiddenPlacement } from '../../ports/seen-store.js';
import type { SignalStore } from '../../ports/signal-store.js';
import type { SignalWrites } from '../../ports/signal-writes.js';
import type { SqliteDatabase } from './database.js';
import { ensureSignalSchema } from './signal-schema.js';

interface EventRow {
  seq: number;
  id: string;
  source: EventSource;
  user: string;
  kind: EventKind;
  label: string;
  activity: string | null;
  foreign_id: string | null;
  weight: number;
  feed_id: string | null;
  location: string | null;
  position: number | null;
  features: string;
  tracked: number;
  received: number;
}

/**
 * {@link SignalStore} on SQLite, over the same database as the feeds. Writes share the write
 * store's group commit (`commit`, applied by SqliteSignalWrites inside its transaction). Batch reads pass ids as one JSON array
 * (`IN (SELECT value FROM json_each(?))`), so a read costs one statement whatever its size.
 */
export class SqliteSignalStore implements SignalStore {
  readonly #d: SqliteDatabase;
  readonly #commit: (app: string, writes: SignalWrites) => Promise<void>;
  readonly #sweep: ((app: string, beforeUs: number, nowUs: number, limit: number) => Promise<number>) | null;
  readonly #readEvents: Database.Statement;
  readonly #orphans: Database.Statement;
  readonly #sweepEvents: Database.Statement;
  readonly #sweepKeys: Database.Statement;
  readonly #profiles: Database.Statement;
  readonly #tags: Database.Statement;
  readonly #jobs: Database.Statement;
  readonly #hidden: Database.Statement;
  readonly #hiddenAll: Database.Statement;
  readonly #byForeignId: Database.Statement;

  /**
   * `sweep`, when given, hands the retention sweep to the write store's group commit too (which
   * calls {@link sweepNow}, on the writer thread where there is one); without it each sweep step
   * is its own transaction on `d`.
   */
  constructor(d: SqliteDatabase, commit: (app: string, writes: SignalWrites) => Promise<void>, sweep?: (app: string, beforeUs: number, nowUs: number, limit: number) => Promise<number>) {
    this.#d = d;
    this.#commit = commit;
    this.#sweep = sweep ?? null;
    const db = d.db;
    ensureSignalSchema(db);
    this.#readEvents = db.prepare('SELECT * FROM p_events WHERE app = ? AND seq > ? ORDER BY seq LIMIT +?');
    this.#orphans = db.prepare('SELECT count(*) FROM p_events WHERE app = ? AND activity IS NULL').pluck();
    this.#sweepEvents = db.prepare(
      'DELETE FROM p_events WHERE app = @app AND seq IN (SELECT seq FROM p_events WHERE app = @app AND received < @before ORDER BY received LIMIT +@limit)',
    );
    this.#sweepKeys = db.prepare('DELETE FROM p_event_keys WHERE app = ? AND until <= ?');
    this.#profiles = db.prepare(
      'SELECT user, dim, source, key, weight, updated FROM p_profile WHERE app = ? AND user IN (SELECT value FROM json_each(?))',
    );
    this.#tags = db.prepare('SELECT activity, tag, source, weight FROM p_item_tags WHERE app = ? AND activity IN (SELECT value FROM json_each(?))');
    this.#jobs = db.prepare(
      `SELECT j.id, a.app_id, j.activity, j.attempts FROM p_content_jobs j JOIN apps a ON a.id = j.app
       WHERE j.not_before <= ? ORDER BY j.id LIMIT +?`,
    );
    this.#hidden = db.prepare(
      'SELECT activity, hidden_at, placements FROM p_hidden WHERE app = ? AND user = ? AND activity IN (SELECT value FROM json_each(?))',
    );
    this.#hiddenAll = db.prepare('SELECT activity, hidden_at, placements FROM p_hidden WHERE app = ? AND user = ? LIMIT +?');
    // The bare `id` column takes the row of max(sk): the newest activity per foreign id. The
    // `<> ''` lets SQLite use the partial foreign-id index (without it, it scanned the app's activities).
    this.#byForeignId = db
      .prepare("SELECT foreign_id, id, max(sk) FROM activities WHERE app = ? AND foreign_id <> '' AND foreign_id IN (SELECT value FROM json_each(?)) GROUP BY foreign_id")
      .raw();
  }

  recordSignals(app: string, writes: SignalWrites): Promise<void> {
    return this.#commit(app, writes);
  }

  async readEvents(app: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
    return this.#d.read('readEvents', () =>
      (this.#readEvents.all(this.#d.appInt(app), afterSeq, limit) as EventRow[]).map((r) => ({
        seq: r.seq,
        id: r.id,
        source: r.source,
        user: r.user,
        kind: r.kind,
        label: r.label,
        activity: r.activity,
        foreignId: r.foreign_id,
        weight: r.weight,
        feedId: r.feed_id,
        location: r.location,
        position: r.position,
        features: JSON.parse(r.features) as string[],
        trackedUs: r.tracked,
        receivedUs: r.received,
      })),
    );
  }

  async orphanCount(app: string): Promise<number> {
    return this.#d.read('orphanCount', () => this.#orphans.get(this.#d.appInt(app)) as number);
  }

  async sweepEvents(app: string, beforeUs: number, nowUs: number, limit: number): Promise<number> {
    if (this.#sweep !== null) return this.#sweep(app, beforeUs, nowUs, limit);
    return this.#d.read('sweepEvents', () => this.#d.db.transaction(() => this.sweepNow(app, beforeUs, nowUs, limit)).immediate());
  }

  /** One step of {@link sweepEvents} inside the caller's transaction. */
  sweepNow(app: string, beforeUs: number, nowUs: number, limit: number): number {
    const a = this.#d.appInt(app);
    this.#sweepKeys.run(a, nowUs);
    return this.#sweepEvents.run({ app: a, before: beforeUs, limit }).changes;
  }

  async profilesOf(app: string, users: readonly string[], sources?: readonly ProfileSource[]): Promise<Map<string, ProfileWeight[]>> {
    const out = new Map<string, ProfileWeight[]>();
    if (users.length === 0) return out;
    const rows = await this.#d.read(
      'profilesOf',
      () => this.#profiles.all(this.#d.appInt(app), JSON.stringify(users)) as { user: string; dim: ProfileDimension; source: ProfileSource; key: string; weight: number; updated: number }[],
    );
    for (const r of rows) {
      if (sources !== undefined && !sources.includes(r.source)) continue;
      let list = out.get(r.user);
      if (!list) out.set(r.user, (list = []));
      list.push({ dimension: r.dim, key: r.key, source: r.source, weight: r.weight, updatedUs: r.updated });
    }
    return out;
  }

  async tagsOf(app: string, activityIds: readonly string[]): Promise<Map<string, ContentTag[]>> {
    const out = new Map<string, ContentTag[]>();
    if (activityIds.length === 0) return out;
    const rows = await this.#d.read(
      'tagsOf',
      () => this.#tags.all(this.#d.appInt(app), JSON.stringify(activityIds)) as { activity: string; tag: string; source: TagSource; weight: number }[],
      'content',
    );
    for (const r of rows) {
      let list = out.get(r.activity);
      if (!list) out.set(r.activity, (list = []));
      list.push({ tag: r.tag, source: r.source, weight: r.weight });
    }
    for (const list of out.values()) list.sort((x, y) => y.weight - x.weight || (x.tag < y.tag ? -1 : 1));
    return out;
  }

  async pendingContentJobs(nowUs: number, limit: number): Promise<ContentJob[]> {
    return this.#d.read('pendingContentJobs', () =>
      (this.#jobs.all(nowUs, limit) as { id: number; app_id: string; activity: string; attempts: number }[]).map((r) => ({
        jobId: r.id,
        app: r.app_id,
        activityId: r.activity,
        attempts: r.attempts,
      })),
    );
  }

  async hiddenOf(app: string, user: string, activityIds: readonly string[]): Promise<Map<string, HiddenActivity>> {
    const out = new Map<string, HiddenActivity>();
    if (activityIds.length === 0) return out;
    type Row = { activity: string; hidden_at: number; placements: string };
    // A reader hides few activities: all of theirs (one range of the key) when they are at most as
    // many as the ids asked about, else a look-up per id.
    const [rows, all] = await this.#d.read('hiddenOf', () => {
      const app0 = this.#d.appInt(app);
      const few = this.#hiddenAll.all(app0, user, activityIds.length + 1) as Row[];
      if (few.length <= activityIds.length) return [few, true] as const;
      return [this.#hidden.all(app0, user, JSON.stringify(activityIds)) as Row[], false] as const;
    });
    if (rows.length === 0) return out;
    const asked = all ? new Set(activityIds) : null;
    for (const r of rows) {
      if (asked !== null && !asked.has(r.activity)) continue;
      out.set(r.activity, { activityId: r.activity, hiddenUs: r.hidden_at, placements: JSON.parse(r.placements) as HiddenPlacement[] });
    }
    return out;
  }

  async newestByForeignId(app: string, foreignIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (foreignIds.length === 0) return out;
    const rows = await this.#d.read('newestByForeignId', () => this.#byForeignId.all(this.#d.appInt(app), JSON.stringify(foreignIds)) as [string, string, Buffer][], 'content');
    for (const [fid, id] of rows) out.set(fid, id);
    return out;
  }
}
