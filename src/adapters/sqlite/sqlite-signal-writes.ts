import type Database from 'better-sqlite3';
import { decayedAdd } from '../../personalization/signals/decay.js';
import type { ProfileChange } from '../../ports/profile-store.js';
import type { EventWrite, SignalWrites } from '../../ports/signal-writes.js';
import type { SqliteDatabase } from './database.js';
import { ensureSignalSchema } from './signal-schema.js';

/**
 * Applies {@link SignalWrites} inside the write store's transaction (so with the rest of the
 * commit): events with their de-duplication keys and the profile changes they cause, manual
 * profile changes, content tags and jobs, per-user hides.
 */
export class SqliteSignalWrites {
  readonly #d: SqliteDatabase;
  readonly #getSeq: Database.Statement;
  readonly #putSeq: Database.Statement;
  readonly #getKey: Database.Statement;
  readonly #putKey: Database.Statement;
  readonly #insertEvent: Database.Statement;
  readonly #getWeight: Database.Statement;
  readonly #putWeight: Database.Statement;
  readonly #removeWeight: Database.Statement;
  readonly #removeWeights: Database.Statement;
  readonly #clearTags: Database.Statement;
  readonly #putTag: Database.Statement;
  readonly #enqueue: Database.Statement;
  readonly #done: Database.Statement;
  readonly #retry: Database.Statement;
  readonly #hide: Database.Statement;
  readonly #unhide: Database.Statement;

  constructor(d: SqliteDatabase) {
    this.#d = d;
    const db = d.db;
    ensureSignalSchema(db);
    this.#getSeq = db.prepare('SELECT seq FROM p_event_seq WHERE app = ?').pluck();
    this.#putSeq = db.prepare('INSERT INTO p_event_seq (app, seq) VALUES (?, ?) ON CONFLICT (app) DO UPDATE SET seq = excluded.seq');
    this.#getKey = db.prepare('SELECT until FROM p_event_keys WHERE app = ? AND key = ?').pluck();
    this.#putKey = db.prepare('INSERT INTO p_event_keys (app, key, until) VALUES (?, ?, ?) ON CONFLICT (app, key) DO UPDATE SET until = excluded.until');
    this.#insertEvent = db.prepare(
      `INSERT INTO p_events (app, seq, id, source, user, kind, label, activity, foreign_id, weight, feed_id, location, position, features, tracked, received)
       VALUES (@app, @seq, @id, @source, @user, @kind, @label, @activity, @foreignId, @weight, @feedId, @location, @position, @features, @tracked, @received)`,
    );
    this.#getWeight = db.prepare('SELECT weight, updated FROM p_profile WHERE app = ? AND user = ? AND dim = ? AND source = ? AND key = ?');
    this.#putWeight = db.prepare(
      `INSERT INTO p_profile (app, user, dim, source, key, weight, updated) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, user, dim, source, key) DO UPDATE SET weight = excluded.weight, updated = excluded.updated`,
    );
    this.#removeWeight = db.prepare('DELETE FROM p_profile WHERE app = ? AND user = ? AND dim = ? AND source = ? AND key = ?');
    this.#removeWeights = db.prepare('DELETE FROM p_profile WHERE app = ? AND user = ? AND dim = ? AND source = ?');
    this.#clearTags = db.prepare('DELETE FROM p_item_tags WHERE app = ? AND activity = ?');
    this.#putTag = db.prepare('INSERT OR REPLACE INTO p_item_tags (app, activity, tag, source, weight) VALUES (?, ?, ?, ?, ?)');
    this.#enqueue = db.prepare('INSERT INTO p_content_jobs (app, activity) VALUES (?, ?)');
    this.#done = db.prepare('DELETE FROM p_content_jobs WHERE id = ?');
    this.#retry = db.prepare('UPDATE p_content_jobs SET attempts = attempts + 1, not_before = ? WHERE id = ?');
    this.#hide = db.prepare(
      `INSERT INTO p_hidden (app, user, activity, hidden_at, placements) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (app, user, activity) DO UPDATE SET placements = excluded.placements`,
    );
    this.#unhide = db.prepare('DELETE FROM p_hidden WHERE app = ? AND user = ? AND activity = ?');
  }

  /** Called by the write store inside its transaction. */
  apply(app: string, w: SignalWrites): void {
    const a = this.#d.appInt(app);
    if (w.events && w.events.length > 0) this.#events(a, w.events);
    if (w.profile) for (const c of w.profile) this.#profile(a, c);
    if (w.tags) {
      for (const t of w.tags) {
        this.#clearTags.run(a, t.activityId);
        for (const tag of t.tags) this.#putTag.run(a, t.activityId, tag.tag, tag.source, tag.weight);
      }
    }
    if (w.contentJobs) for (const id of w.contentJobs) this.#enqueue.run(a, id);
    if (w.contentDone) for (const id of w.contentDone) this.#done.run(id);
    if (w.contentRetry) for (const r of w.contentRetry) this.#retry.run(r.notBeforeUs, r.jobId);
    if (w.hides) {
      for (const h of w.hides) {
        if (h.hidden) this.#hide.run(a, h.user, h.activityId, h.atUs, JSON.stringify(h.placements ?? []));
        else this.#unhide.run(a, h.user, h.activityId);
      }
    }
  }

  #events(a: number, events: readonly EventWrite[]): void {
    let seq = (this.#getSeq.get(a) as number | undefined) ?? 0;
    const start = seq;
    for (const w of events) {
      const e = w.event;
      const until = this.#getKey.get(a, w.dedupeKey) as number | undefined;
      // A key still live means this is a retry of an event already taken: nothing changes.
      if (until !== undefined && until > e.receivedUs) continue;
      this.#putKey.run(a, w.dedupeKey, w.dedupeUntilUs);
      this.#insertEvent.run({
        app: a,
        seq: ++seq,
        id: e.id,
        source: e.source,
        user: e.user,
        kind: e.kind,
        label: e.label,
        activity: e.activity,
        foreignId: e.foreignId,
        weight: e.weight,
        feedId: e.feedId,
        location: e.location,
        position: e.position,
        features: JSON.stringify(e.features),
        tracked: e.trackedUs,
        received: e.receivedUs,
      });
      if (w.effects) for (const c of w.effects) this.#profile(a, c);
    }
    if (seq !== start) this.#putSeq.run(a, seq);
  }

  #profile(a: number, c: ProfileChange): void {
    switch (c.op) {
      case 'add': {
        const row = this.#getWeight.get(a, c.user, c.dimension, c.source, c.key) as { weight: number; updated: number } | undefined;
        const next = row === undefined ? { weight: c.delta, updatedUs: c.atUs } : decayedAdd(row.weight, row.updated, c.delta, c.atUs, c.halfLifeUs);
        this.#putWeight.run(a, c.user, c.dimension, c.source, c.key, next.weight, next.updatedUs);
        break;
      }
      case 'set':
        this.#putWeight.run(a, c.user, c.dimension, c.source, c.key, c.weight, c.atUs);
        break;
      case 'remove':
        if (c.key === undefined) this.#removeWeights.run(a, c.user, c.dimension, c.source);
        else this.#removeWeight.run(a, c.user, c.dimension, c.source, c.key);
        break;
    }
  }
}

/** Rough row count of the signal part of a batch, to bound a group commit. */
export function signalRows(w: SignalWrites | undefined): number {
  if (w === undefined) return 0;
  return (
    (w.events?.reduce((n, e) => n + 1 + (e.effects?.length ?? 0), 0) ?? 0) +
    (w.profile?.length ?? 0) +
    (w.tags?.reduce((n, t) => n + 1 + t.tags.length, 0) ?? 0) +
    (w.contentJobs?.length ?? 0) +
    (w.contentDone?.length ?? 0) +
    (w.hides?.length ?? 0)
  );
}
