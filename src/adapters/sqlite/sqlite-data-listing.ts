import type Database from 'better-sqlite3';
import { sortKeyToId } from '../../core/activities/activity-id.js';
import type { ActivityRecord } from '../../ports/activity-store.js';
import type { AuditEntry } from '../../ports/audit-log.js';
import type { EntryRecord } from '../../ports/collection-store.js';
import type { FileRecord } from '../../ports/file-index.js';
import type { FlagRecord } from '../../ports/flag-store.js';
import type { HiddenActivity, HiddenPlacement } from '../../ports/seen-store.js';
import type { DataListing, FollowEdge, ListPage } from '../../ports/data-listing.js';
import type { ReactionRecord } from '../../ports/reaction-store.js';
import type { UserRecord } from '../../ports/user-store.js';
import type { SqliteDatabase } from './database.js';
import { ensureSignalSchema } from './signal-schema.js';
import { activityFromRow, type ActivityRow } from './sqlite-activity-store.js';
import { COLUMNS as AUDIT_COLUMNS, toEntry as auditEntry, type AuditRow } from './sqlite-audit-log.js';
import { COLUMNS as FILE_COLUMNS, toRecord as fileRecord, type FileRow } from './sqlite-file-index.js';
import { COLUMNS as FLAG_COLUMNS, toRecord as flagRecord, type FlagRow } from './sqlite-flag-store.js';
import { toRecord, type Row as ReactionRow } from './sqlite-reaction-store.js';

/**
 * {@link DataListing} on SQLite: each page is one range read on a table's primary key (follow
 * edges on their `(source, target)` index, joined to the source feed's app), after the key the
 * cursor holds, so pages never repeat a record.
 */
export class SqliteDataListing implements DataListing {
  readonly #d: SqliteDatabase;
  readonly #activities: Database.Statement;
  readonly #follows: Database.Statement;
  readonly #reactions: Database.Statement;
  readonly #users: Database.Statement;
  readonly #entries: Database.Statement;
  readonly #feeds: Database.Statement;
  readonly #hidden: Database.Statement;
  readonly #profileUsers: Database.Statement;
  readonly #files: Database.Statement;
  readonly #audit: Database.Statement;
  readonly #flags: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    ensureSignalSchema(db);
    // Feeds are rows of `feeds` as soon as anything names them; only those holding something are listed.
    this.#feeds = db.prepare(
      `SELECT fid FROM feeds f WHERE app = ? AND fid > ?
         AND (pull = 1 OR floor IS NOT NULL OR EXISTS (SELECT 1 FROM entries e WHERE e.feed = f.id)
              OR EXISTS (SELECT 1 FROM recent_entries r WHERE r.feed = f.id)
              OR EXISTS (SELECT 1 FROM groups g WHERE g.feed = f.id) OR EXISTS (SELECT 1 FROM hidden h WHERE h.feed = f.id))
       ORDER BY fid LIMIT +?`,
    ).pluck();
    this.#hidden = db.prepare('SELECT user, activity, hidden_at, placements FROM p_hidden WHERE app = ? AND (user, activity) > (?, ?) ORDER BY user, activity LIMIT +?');
    this.#profileUsers = db.prepare('SELECT DISTINCT user FROM p_profile WHERE app = ? AND user > ? ORDER BY user LIMIT +?').pluck();
    this.#files = db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE app = ? AND id > ? ORDER BY id LIMIT +?`);
    this.#audit = db.prepare(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE app = ? AND seq > ? ORDER BY seq LIMIT +?`);
    this.#flags = db.prepare(`SELECT ${FLAG_COLUMNS} FROM flags WHERE app = ? AND seq > ? ORDER BY seq LIMIT +?`);
    this.#activities = db.prepare('SELECT sk, id, foreign_id, time, home, to_feeds, body FROM activities WHERE app = ? AND sk > ? ORDER BY sk LIMIT +?');
    this.#follows = db.prepare(
      `SELECT f.source, f.target, f.created, f.grouped, f.since FROM follows f INDEXED BY follows_source_target JOIN feeds s ON s.id = f.source
       WHERE (f.source, f.target) > (?, ?) AND s.app = ? ORDER BY f.source, f.target LIMIT +?`,
    );
    this.#reactions = db.prepare(
      'SELECT id, kind, activity_id, user_id, parent, depth, data, target_feeds, created, updated, deleted FROM reactions WHERE app = ? AND id > ? ORDER BY id LIMIT +?',
    );
    this.#users = db.prepare('SELECT id, data, created, updated FROM users WHERE app = ? AND id > ? ORDER BY id LIMIT +?');
    this.#entries = db.prepare(
      'SELECT collection, id, user_id, data, created, updated FROM collection_entries WHERE app = ? AND (collection, id) > (?, ?) ORDER BY collection, id LIMIT +?',
    );
  }

  async activities(app: string, cursor: string | null, limit: number): Promise<ListPage<ActivityRecord>> {
    return this.#d.read('listActivities', () => {
      const rows = this.#activities.all(this.#d.appInt(app), cursor === null ? Buffer.alloc(0) : Buffer.from(cursor, 'hex'), limit) as (ActivityRow & { sk: Buffer })[];
      const items = rows.map((r) => activityFromRow(this.#d, r));
      return { items, next: rows.length < limit ? null : rows[rows.length - 1].sk.toString('hex') };
    });
  }

  async follows(app: string, cursor: string | null, limit: number): Promise<ListPage<FollowEdge>> {
    return this.#d.read('listFollows', () => {
      type Row = { source: number; target: number; created: number; grouped: number; since: Buffer | null };
      const [source, target] = cursor === null ? [0, 0] : cursor.split(':').map(Number);
      const rows = this.#follows.all(source, target, this.#d.appInt(app), limit) as Row[];
      const items = rows.map((r) => ({
        source: this.#d.feedName(r.source),
        target: this.#d.feedName(r.target),
        createdUs: r.created,
        grouped: r.grouped === 1,
        since: r.since === null ? null : { id: sortKeyToId(r.since) },
      }));
      const last = rows[rows.length - 1];
      return { items, next: rows.length < limit ? null : `${last.source}:${last.target}` };
    });
  }

  async reactions(app: string, cursor: string | null, limit: number): Promise<ListPage<ReactionRecord>> {
    return this.#d.read('listReactions', () => {
      const rows = this.#reactions.all(this.#d.appInt(app), cursor ?? '', limit) as ReactionRow[];
      return { items: rows.map(toRecord), next: rows.length < limit ? null : rows[rows.length - 1].id };
    });
  }

  async users(app: string, cursor: string | null, limit: number): Promise<ListPage<UserRecord>> {
    return this.#d.read('listUsers', () => {
      type Row = { id: string; data: string; created: number; updated: number };
      const rows = this.#users.all(this.#d.appInt(app), cursor ?? '', limit) as Row[];
      const items = rows.map((r) => ({ id: r.id, data: r.data, createdUs: r.created, updatedUs: r.updated }));
      return { items, next: rows.length < limit ? null : rows[rows.length - 1].id };
    });
  }

  async entries(app: string, cursor: string | null, limit: number): Promise<ListPage<EntryRecord>> {
    return this.#d.read('listEntries', () => {
      type Row = { collection: string; id: string; user_id: string | null; data: string; created: number; updated: number };
      const [collection, id] = cursor === null ? ['', ''] : (JSON.parse(cursor) as [string, string]);
      const rows = this.#entries.all(this.#d.appInt(app), collection, id, limit) as Row[];
      const items = rows.map((r) => ({ collection: r.collection, id: r.id, userId: r.user_id, data: r.data, createdUs: r.created, updatedUs: r.updated }));
      const last = rows[rows.length - 1];
      return { items, next: rows.length < limit ? null : JSON.stringify([last.collection, last.id]) };
    });
  }

  async feeds(app: string, cursor: string | null, limit: number): Promise<ListPage<string>> {
    return this.#d.read('listFeeds', () => {
      const rows = this.#feeds.all(this.#d.appInt(app), cursor ?? '', limit) as string[];
      return { items: rows, next: rows.length < limit ? null : rows[rows.length - 1] };
    });
  }

  async hiddenActivities(app: string, cursor: string | null, limit: number): Promise<ListPage<HiddenActivity & { readonly user: string }>> {
    return this.#d.read('listHidden', () => {
      type Row = { user: string; activity: string; hidden_at: number; placements: string };
      const [user, activity] = cursor === null ? ['', ''] : (JSON.parse(cursor) as [string, string]);
      const rows = this.#hidden.all(this.#d.appInt(app), user, activity, limit) as Row[];
      const items = rows.map((r) => ({ user: r.user, activityId: r.activity, hiddenUs: r.hidden_at, placements: JSON.parse(r.placements) as HiddenPlacement[] }));
      const last = rows[rows.length - 1];
      return { items, next: rows.length < limit ? null : JSON.stringify([last.user, last.activity]) };
    });
  }

  async profileUsers(app: string, cursor: string | null, limit: number): Promise<ListPage<string>> {
    return this.#d.read('listProfileUsers', () => {
      const rows = this.#profileUsers.all(this.#d.appInt(app), cursor ?? '', limit) as string[];
      return { items: rows, next: rows.length < limit ? null : rows[rows.length - 1] };
    });
  }

  async files(app: string, cursor: string | null, limit: number): Promise<ListPage<FileRecord>> {
    return this.#d.read('listFiles', () => {
      const rows = this.#files.all(this.#d.appInt(app), cursor ?? '', limit) as FileRow[];
      return { items: rows.map(fileRecord), next: rows.length < limit ? null : rows[rows.length - 1].id };
    });
  }

  async audit(app: string, cursor: string | null, limit: number): Promise<ListPage<AuditEntry>> {
    return this.#d.read('listAudit', () => {
      const rows = this.#audit.all(this.#d.appInt(app), Number(cursor ?? 0), limit) as AuditRow[];
      return { items: rows.map(auditEntry), next: rows.length < limit ? null : String(rows[rows.length - 1].seq) };
    });
  }

  async flags(app: string, cursor: string | null, limit: number): Promise<ListPage<FlagRecord>> {
    return this.#d.read('listFlags', () => {
      const rows = this.#flags.all(this.#d.appInt(app), Number(cursor ?? 0), limit) as FlagRow[];
      return { items: rows.map(flagRecord), next: rows.length < limit ? null : String(rows[rows.length - 1].seq) };
    });
  }
}
