import type Database from 'better-sqlite3';
import { decayedAdd, decayFactor } from '../../personalization/signals/decay.js';
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
  readonly #claimKey: Database.Statement;
  readonly #insertEvent: Database.Statement;
  readonly #addWeight: Database.Statement;
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
    // One statement claims a key: inserted when new, renewed when expired, untouched (0 changes)
    // while it still catches retries.
    // Statements of the ingestion path bind positional parameters (cheaper than named ones).
    this.#claimKey = db.prepare(
      `INSERT INTO p_event_keys (app, key, until) VALUES (?, ?, ?)
       ON CONFLICT (app, key) DO UPDATE SET until = excluded.until WHERE p_event_keys.until <= ?`,
    );
    this.#insertEvent = db.prepare(
      `INSERT INTO p_events (app, seq, id, source, user, kind, label, activity, foreign_id, weight, feed_id, location, position, features, tracked, received)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // The decay rule stays in one place (decayedAdd), called by SQLite inside the upsert: one
    // statement per change instead of a read and a write.
    db.function('rv_decayed_weight', { deterministic: true }, (weight, updated, delta, at, half) => decayedAdd(weight as number, updated as number, delta as number, at as number, half as number).weight);
    this.#addWeight = db.prepare(
      `INSERT INTO p_profile (app, user, dim, source, key, weight, updated) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, user, dim, source, key) DO UPDATE SET
         weight = rv_decayed_weight(weight, updated, excluded.weight, excluded.updated, ?),
         updated = max(updated, excluded.updated)`,
    );
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
    // The events' profile additions, one per weight: a batch of one user's events touches the
    // same tags and authors again and again, and one upsert per weight does for all of them.
    const adds = new Map<string, FoldedAdd>();
    for (const w of events) {
      const e = w.event;
      // A key still live means this is a retry of an event already taken: nothing changes.
      if (this.#claimKey.run(a, w.dedupeKey, w.dedupeUntilUs, e.receivedUs).changes === 0) continue;
      this.#insertEvent.run(
        a,
        ++seq,
        e.id,
        e.source,
        e.user,
        e.kind,
        e.label,
        e.activity,
        e.foreignId,
        e.weight,
        e.feedId,
        e.location,
        e.position,
        JSON.stringify(e.features),
        e.trackedUs,
        e.receivedUs,
      );
      if (w.effects) {
        for (const c of w.effects) {
          if (c.op !== 'add') {
            this.#flushAdds(a, adds);
            this.#profile(a, c);
            continue;
          }
          const k = `${c.user}\u0000${c.dimension}\u0000${c.source}\u0000${c.key}\u0000${c.halfLifeUs}`;
          const f = adds.get(k);
          if (f === undefined) adds.set(k, { change: c, delta: c.delta, atUs: c.atUs });
          else foldAdd(f, c.delta, c.atUs, c.halfLifeUs);
        }
      }
    }
    this.#flushAdds(a, adds);
    if (seq !== start) this.#putSeq.run(a, seq);
  }

  #flushAdds(a: number, adds: Map<string, FoldedAdd>): void {
    for (const f of adds.values()) {
      const c = f.change;
      this.#addWeight.run(a, c.user, c.dimension, c.source, c.key, f.delta, f.atUs, c.halfLifeUs);
    }
    adds.clear();
  }

  #profile(a: number, c: ProfileChange): void {
    switch (c.op) {
      case 'add':
        this.#addWeight.run(a, c.user, c.dimension, c.source, c.key, c.delta, c.atUs, c.halfLifeUs);
        break;
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

/** Additions to one profile weight, folded into one: `delta` happening at `atUs`. */
interface FoldedAdd {
  readonly change: Extract<ProfileChange, { op: 'add' }>;
  delta: number;
  atUs: number;
}

/**
 * Folds another addition (`delta` at `atUs`) into `f`, so that adding `f` once equals adding both
 * in turn ({@link decayedAdd}): decay is a factor per elapsed time, so the sum is kept at the later
 * time with the earlier addition decayed to it.
 */
export function foldAdd(f: { delta: number; atUs: number }, delta: number, atUs: number, halfLifeUs: number): void {
  if (atUs >= f.atUs) {
    f.delta = f.delta * decayFactor(f.atUs, atUs, halfLifeUs) + delta;
    f.atUs = atUs;
  } else {
    f.delta += delta * decayFactor(atUs, f.atUs, halfLifeUs);
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
