import type Database from 'better-sqlite3';
import type { CommittedStep, IntentQueue, QueuedIntent, WriteStep } from '../../ports/intent-queue.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteWriteStore } from './sqlite-write-store.js';

interface IntentRow {
  id: number;
  app_id: string;
  kind: 'fanout.add' | 'fanout.remove';
  source: string;
  ids: string;
  cursor: string | null;
  queued_at: number | null;
  attempts: number;
  mode: 'inline' | 'queued';
}

const COLUMNS = 'o.id, a.app_id, o.kind, o.source, o.ids, o.cursor, o.queued_at, o.attempts, o.mode';

function intent(r: IntentRow): QueuedIntent {
  return {
    id: String(r.id),
    app: r.app_id,
    kind: r.kind,
    source: r.source,
    ids: r.ids.split(','),
    mode: r.mode,
    cursor: r.cursor,
    queuedAt: r.queued_at,
    attempts: r.attempts,
  };
}

/**
 * {@link IntentQueue} on SQLite: intents are rows of the `outbox` table, written in the same
 * transaction as their step (through the write store's group commit), so a step and its intents
 * are durable together.
 *
 * Leases by the store's clock (this machine's, `Date.now()` where the write runs): `lease` holds
 * when the intent was last claimed or its progress recorded (0: handed back), and a claim takes it
 * once that is `leaseMs` ago; inline intents age from `queued_at`. Retry times (`retry_at`) are in
 * the caller's clock and compared with the `now` it passes to `claim`.
 */
export class SqliteIntentQueue implements IntentQueue {
  /**
   * One writing connection applies every write of the ports in the order handed over (the group
   * commit's queue, on this thread or the writer thread): see {@link IntentQueue.ordered}.
   */
  readonly ordered = true;
  readonly #d: SqliteDatabase;
  readonly #writes: SqliteWriteStore;
  readonly #ops: ReturnType<SqliteIntentQueue['defineOps']>;
  readonly #insert: Database.Statement;
  readonly #claimable: Database.Statement;
  readonly #lease: Database.Statement;
  readonly #progress: Database.Statement;
  readonly #complete: Database.Statement;
  readonly #release: Database.Statement;
  readonly #count: Database.Statement;
  readonly #pending: Database.Statement;
  readonly #retry: Database.Statement;
  readonly #bury: Database.Statement;
  readonly #deadCount: Database.Statement;
  readonly #dead: Database.Statement;
  readonly #requeueAll: Database.Statement;
  readonly #requeueOne: Database.Statement;
  readonly #deleteDead: Database.Statement;
  readonly #deleteAllDead: Database.Statement;

  constructor(d: SqliteDatabase, writes: SqliteWriteStore) {
    this.#d = d;
    this.#writes = writes;
    this.#ops = this.defineOps(writes);
    const db = d.db;
    this.#insert = db.prepare('INSERT INTO outbox (app, kind, source, ids, queued_at, mode) VALUES (?, ?, ?, ?, ?, ?) RETURNING id').pluck();
    this.#claimable = db.prepare(
      `SELECT ${COLUMNS} FROM outbox o JOIN apps a ON a.id = o.app
       WHERE (o.retry_at IS NULL OR o.retry_at <= @now)
         AND (CASE WHEN o.lease IS NOT NULL THEN o.lease + @leaseMs <= @clock
                   WHEN o.mode = 'inline' THEN coalesce(o.queued_at, 0) + @leaseMs <= @clock
                   ELSE 1 END)
       ORDER BY o.attempts, o.id LIMIT +@limit`,
    );
    this.#lease = db.prepare('UPDATE outbox SET lease = ? WHERE id = ?');
    this.#progress = db.prepare('UPDATE outbox SET cursor = ?, lease = ? WHERE id = ?');
    this.#complete = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.#release = db.prepare("UPDATE outbox SET mode = 'queued' WHERE id = ? AND mode = 'inline' AND lease IS NULL");
    this.#count = db.prepare('SELECT count(*) FROM outbox').pluck();
    // Ids grow with time, so the first rows are the oldest (a requeued dead letter keeps its id and time).
    this.#pending = db.prepare(`SELECT ${COLUMNS} FROM outbox o JOIN apps a ON a.id = o.app ORDER BY o.id LIMIT +?`);
    this.#retry = db.prepare('UPDATE outbox SET attempts = attempts + 1, retry_at = ?, lease = NULL WHERE id = ?');
    this.#bury = db.prepare(
      `INSERT INTO outbox_dead (id, app, kind, source, ids, cursor, queued_at, attempts, error, failed_at)
       SELECT id, app, kind, source, ids, cursor, queued_at, attempts + 1, ?, ? FROM outbox WHERE id = ?`,
    );
    this.#deadCount = db.prepare('SELECT count(*) FROM outbox_dead').pluck();
    this.#dead = db.prepare(
      `SELECT o.id, a.app_id, o.kind, o.source, o.ids, o.cursor, o.queued_at, o.attempts, 'queued' AS mode, o.error, o.failed_at
       FROM outbox_dead o JOIN apps a ON a.id = o.app ORDER BY o.id LIMIT +?`,
    );
    this.#requeueAll = db.prepare(
      `INSERT OR IGNORE INTO outbox (id, app, kind, source, ids, cursor, queued_at, attempts, mode)
       SELECT id, app, kind, source, ids, cursor, queued_at, 0, 'queued' FROM outbox_dead`,
    );
    this.#requeueOne = db.prepare(
      `INSERT OR IGNORE INTO outbox (id, app, kind, source, ids, cursor, queued_at, attempts, mode)
       SELECT id, app, kind, source, ids, cursor, queued_at, 0, 'queued' FROM outbox_dead WHERE id = ?`,
    );
    this.#deleteDead = db.prepare('DELETE FROM outbox_dead WHERE id = ?');
    this.#deleteAllDead = db.prepare('DELETE FROM outbox_dead');
  }

  commit(app: string, steps: readonly WriteStep[], opts: { readonly covered?: boolean } = {}): Promise<CommittedStep[]> {
    const rows = steps.reduce((n, s) => n + 1 + (s.intents?.length ?? 0), 0);
    const graph = steps.some((s) => s.follow !== undefined || s.unfollow !== undefined);
    // A hand-over of intents an inline intent covers commits without waiting for fsync (see
    // transactOp's `relaxed`); every other step waits for the disk.
    return this.#ops.commit([app, steps], rows, graph, opts.covered === true);
  }

  // Leases, cursors and completions need not reach the disk before they are acknowledged (they
  // commit without waiting for fsync, see SqliteWriteStore.transactOp): lost in a power loss, they
  // only make a worker redo idempotent operations. The WAL keeps commits in order, so a completion
  // that survived had the operations before it survive too.

  claim(limit: number, leaseMs: number, now: number): Promise<QueuedIntent[]> {
    return this.#ops.claim([limit, leaseMs, now], 1, false, true);
  }

  progress(updates: readonly { readonly id: string; readonly cursor: string | null }[], handBack = false): Promise<void> {
    return this.#ops.progress([updates, handBack], updates.length, false, true);
  }

  /** `lazy`: held back until the writer thread's next write or a short while (see `WriterThread`). */
  complete(ids: readonly string[], lazy = false): Promise<void> {
    return this.#ops.complete([ids], ids.length, false, true, lazy);
  }

  /** Relaxed (see above); a later claim is a write of the same group commit, applied after it. */
  release(ids: readonly string[]): Promise<void> {
    return this.#ops.release([ids], ids.length, false, true);
  }

  failed(id: string, error: string, retryAt: number | null, now: number): Promise<void> {
    return this.#ops.failed([id, error, retryAt, now]);
  }

  // The queue's own reads see every write handed over before them (see IntentQueue.ordered): a
  // writer need not wait for its completions.

  async pendingCount(): Promise<number> {
    await this.#writes.handedOver();
    return this.#d.read('pendingCount', () => this.#count.get() as number);
  }

  async pending(limit: number): Promise<QueuedIntent[]> {
    await this.#writes.handedOver();
    return this.#d.read('pendingIntents', () => (this.#pending.all(limit) as IntentRow[]).map(intent));
  }

  async deadLetterCount(): Promise<number> {
    return this.#d.read('deadLetterCount', () => this.#deadCount.get() as number);
  }

  async deadLetters(limit: number): Promise<(QueuedIntent & { readonly error: string; readonly failedAt: number })[]> {
    return this.#d.read('deadLetters', () =>
      (this.#dead.all(limit) as (IntentRow & { error: string; failed_at: number })[]).map((r) => ({ ...intent(r), error: r.error, failedAt: r.failed_at })),
    );
  }

  requeueDeadLetters(ids?: readonly string[]): Promise<number> {
    return this.#ops.requeue([ids ?? null]);
  }

  /**
   * The queue's writes as named operations of the write store (run inside its group commit, on
   * this connection or by the writer thread).
   */
  private defineOps(writes: SqliteWriteStore) {
    return {
      commit: writes.define('intents.commit', (app: string, steps: readonly WriteStep[]): CommittedStep[] => {
        const a = this.#d.appInt(app);
        const now = Date.now();
        return steps.map((step) => {
          writes.applyStep(app, step);
          // The stored intent is what was inserted: no read back.
          const intents = (step.intents ?? []).map((i): QueuedIntent => {
            const id = this.#insert.get(a, i.kind, i.source, i.ids.join(','), now, i.mode) as number;
            return { id: String(id), app, kind: i.kind, source: i.source, ids: [...i.ids], mode: i.mode, cursor: null, queuedAt: now, attempts: 0 };
          });
          return { intents };
        });
      }),
      claim: writes.define('intents.claim', (limit: number, leaseMs: number, now: number): QueuedIntent[] => {
        const clock = Date.now();
        const rows = this.#claimable.all({ now, clock, leaseMs, limit }) as IntentRow[];
        for (const r of rows) this.#lease.run(clock, r.id);
        return rows.map(intent);
      }),
      progress: writes.define('intents.progress', (updates: readonly { readonly id: string; readonly cursor: string | null }[], handBack: boolean): void => {
        const lease = handBack ? 0 : Date.now();
        for (const u of updates) this.#progress.run(u.cursor, lease, Number(u.id));
      }),
      complete: writes.define('intents.complete', (ids: readonly string[]): void => {
        for (const id of ids) this.#complete.run(Number(id));
      }),
      release: writes.define('intents.release', (ids: readonly string[]): void => {
        for (const id of ids) this.#release.run(Number(id));
      }),
      failed: writes.define('intents.failed', (id: string, error: string, retryAt: number | null, now: number): void => {
        if (retryAt !== null) this.#retry.run(retryAt, Number(id));
        else if (this.#bury.run(error, now, Number(id)).changes > 0) this.#complete.run(Number(id));
      }),
      requeue: writes.define('intents.requeue', (ids: readonly string[] | null): number => {
        if (ids === null) {
          const n = this.#requeueAll.run().changes;
          this.#deleteAllDead.run();
          return n;
        }
        let n = 0;
        for (const id of ids) {
          n += this.#requeueOne.run(Number(id)).changes;
          this.#deleteDead.run(Number(id));
        }
        return n;
      }),
    };
  }
}
