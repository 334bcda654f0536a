import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { StoreError } from '../../core/errors.js';
import { arrivalCount } from '../../ports/change-marks.js';

/**
 * The embedded store's database: one SQLite file in WAL mode. Apps and feeds are interned to
 * integers so that timeline entries and follow edges stay small (`entries` is clustered on
 * (feed, sort key) WITHOUT ROWID; new flat entries first go to `recent_entries`, see SqliteTimelines).
 *
 * Several processes may share the file (`serve --workers N`, `serve --no-worker` beside `worker`).
 * The interned integers are cached per process, which stays right across processes: rows of
 * `apps` and `feeds` are never deleted or renumbered, a feed not found is not cached, and integers
 * cached inside a transaction that rolled back are forgotten (`forgetFeeds`).
 *
 * Statements write a bound limit as `LIMIT +?` (or `LIMIT +@name`), never `LIMIT ?`: SQLite reads a
 * bare parameter of a LIMIT while planning and then plans the statement again each time that
 * parameter is bound, which the driver does on every run (re-parsing it: a timeline scan cost 2.5
 * times as much). The unary plus gives the same limit without that (sqlite-bound-limits.test.ts).
 */

const MIGRATIONS: string[] = [
  `
  CREATE TABLE apps (id INTEGER PRIMARY KEY, app_id TEXT NOT NULL UNIQUE);
  CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    app INTEGER NOT NULL,
    slug TEXT NOT NULL,
    fid TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    ngroups INTEGER NOT NULL DEFAULT 0,
    unseen INTEGER NOT NULL DEFAULT 0,
    unread INTEGER NOT NULL DEFAULT 0,
    UNIQUE (app, fid)
  );
  CREATE TABLE activities (
    app INTEGER NOT NULL,
    sk BLOB NOT NULL,
    id TEXT NOT NULL,
    foreign_id TEXT NOT NULL,
    time INTEGER NOT NULL,
    home INTEGER NOT NULL,
    to_feeds TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (app, sk)
  ) WITHOUT ROWID;
  CREATE INDEX activities_foreign_id ON activities (app, foreign_id) WHERE foreign_id <> '';
  CREATE TABLE entries (
    feed INTEGER NOT NULL,
    sk BLOB NOT NULL,
    origin INTEGER,
    grp INTEGER,
    PRIMARY KEY (feed, sk)
  ) WITHOUT ROWID;
  CREATE INDEX entries_group ON entries (feed, grp, sk) WHERE grp IS NOT NULL;
  CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    feed INTEGER NOT NULL,
    key TEXT NOT NULL,
    gsk BLOB NOT NULL,
    verb TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    activity_count INTEGER NOT NULL,
    actors TEXT NOT NULL,
    seen INTEGER NOT NULL DEFAULT 0,
    read INTEGER NOT NULL DEFAULT 0,
    UNIQUE (feed, key)
  );
  CREATE UNIQUE INDEX groups_public_id ON groups (feed, gsk);
  CREATE INDEX groups_order ON groups (feed, updated, gsk);
  CREATE TABLE follows (
    target INTEGER NOT NULL,
    source INTEGER NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (target, source)
  ) WITHOUT ROWID;
  CREATE INDEX follows_target_created ON follows (target, created);
  CREATE INDEX follows_source_created ON follows (source, created);
  CREATE UNIQUE INDEX follows_source_target ON follows (source, target);
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app INTEGER NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    ids TEXT NOT NULL,
    cursor TEXT
  );
  `,
  // Users and collection entries (§11, §12). `data` is JSON text, returned as is.
  `
  CREATE TABLE users (
    app INTEGER NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (app, id)
  );
  CREATE TABLE collection_entries (
    app INTEGER NOT NULL,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT,
    data TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (app, collection, id)
  );
  `,
  // Reactions and their counts per (activity or parent reaction, kind), kept on write.
  `
  CREATE TABLE reactions (
    app INTEGER NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    parent TEXT NOT NULL,
    depth INTEGER NOT NULL,
    data TEXT NOT NULL,
    target_feeds TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    deleted INTEGER,
    PRIMARY KEY (app, id)
  ) WITHOUT ROWID;
  CREATE INDEX reactions_activity ON reactions (app, activity_id, parent, created, id);
  CREATE INDEX reactions_activity_kind ON reactions (app, activity_id, parent, kind, created, id);
  CREATE INDEX reactions_user ON reactions (app, user_id, created, id);
  CREATE INDEX reactions_parent ON reactions (app, parent, created, id) WHERE parent <> '';
  CREATE TABLE reaction_counts (
    app INTEGER NOT NULL,
    owner_type TEXT NOT NULL,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (app, owner_type, owner, kind)
  ) WITHOUT ROWID;
`,
  // Hybrid fan-out: follower counts per feed, and the sticky flag of feeds served by pull.
  `
  ALTER TABLE feeds ADD COLUMN followers INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE feeds ADD COLUMN pull INTEGER NOT NULL DEFAULT 0;
  UPDATE feeds SET followers = (SELECT count(*) FROM follows WHERE follows.target = feeds.id);
  CREATE INDEX feeds_pull ON feeds (id) WHERE pull = 1;
  `,
  // Children lookups by parent: a full index (the partial one was not chosen for IN lists).
  `
  DROP INDEX reactions_parent;
  CREATE INDEX reactions_parent ON reactions (app, parent, created, id);
  `,
  // Edges from aggregated/notification feeds, which pull-served feeds still push to.
  `
  ALTER TABLE follows ADD COLUMN grouped INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX follows_grouped ON follows (target, source) WHERE grouped = 1;
  `,
  // The oldest sort key a follower sees of a pull-served target (its activity_copy_limit).
  `
  ALTER TABLE follows ADD COLUMN since BLOB;
  `,
  // Hybrid fan-out: pulled activities a follower removed from its own feed, and per feed the
  // oldest sort key its merged reads still show (set when a removal leaves a full feed, as push
  // had trimmed everything older by then).
  `
  CREATE TABLE hidden (
    feed INTEGER NOT NULL,
    sk BLOB NOT NULL,
    PRIMARY KEY (feed, sk)
  ) WITHOUT ROWID;
  CREATE INDEX hidden_sk ON hidden (sk);
  ALTER TABLE feeds ADD COLUMN floor BLOB;
  `,
  // The processes that have the database open (see SqliteDatabase: other writers).
  `
  CREATE TABLE writers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    boot TEXT NOT NULL,
    started INTEGER NOT NULL
  );
  `,
  // Uploaded files and their variants, moderation flags, the audit log (§13, §17, §18.2), and
  // what one user wrote, for data export and erasure (§18.1).
  `
  CREATE TABLE files (
    app INTEGER NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    owner TEXT,
    parent TEXT,
    variant TEXT,
    created INTEGER NOT NULL,
    PRIMARY KEY (app, id)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX files_variant ON files (app, parent, variant) WHERE parent IS NOT NULL;
  CREATE INDEX files_owner ON files (app, owner, created) WHERE owner IS NOT NULL;
  CREATE TABLE flags (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app INTEGER NOT NULL,
    id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    target_user TEXT NOT NULL,
    flagged_by TEXT,
    reason TEXT,
    created INTEGER NOT NULL
  );
  CREATE INDEX flags_app ON flags (app, seq);
  CREATE INDEX flags_entity ON flags (app, entity_type, entity_id, seq);
  CREATE INDEX flags_by ON flags (app, flagged_by) WHERE flagged_by IS NOT NULL;
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app INTEGER NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    user_id TEXT NOT NULL,
    custom TEXT NOT NULL,
    created INTEGER NOT NULL
  );
  CREATE INDEX audit_app ON audit (app, seq);
  CREATE INDEX audit_entity ON audit (app, entity_type, entity_id, seq);
  CREATE INDEX audit_user ON audit (app, user_id, seq);
  CREATE INDEX activities_actor ON activities (app, json_extract(body, '$.actor'));
  CREATE INDEX collection_entries_owner ON collection_entries (app, user_id) WHERE user_id IS NOT NULL;
  `,
  // When each fan-out job was queued (ms since the epoch), for the fan-out lag metric; NULL for
  // jobs queued before this column existed.
  `
  ALTER TABLE outbox ADD COLUMN queued_at INTEGER;
  `,
  // Activities no feed holds any more are deleted by a background sweep (SqliteActivitySweep):
  // entries by sort key answer "does any feed still hold it", and `orphans` remembers since when
  // an activity was found held by none, for the retention.
  `
  CREATE INDEX entries_sk ON entries (sk);
  CREATE TABLE orphans (
    app INTEGER NOT NULL,
    sk BLOB NOT NULL,
    since INTEGER NOT NULL,
    PRIMARY KEY (app, sk)
  ) WITHOUT ROWID;
  `,
  // Failed fan-out attempts: how many, and when the job is due again (ms; NULL: now). A job that
  // keeps failing moves to outbox_dead with its last error, keeping its id, cursor and queue time.
  `
  ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE outbox ADD COLUMN retry_at INTEGER;
  CREATE TABLE outbox_dead (
    id INTEGER PRIMARY KEY,
    app INTEGER NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    ids TEXT NOT NULL,
    cursor TEXT,
    queued_at INTEGER,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    failed_at INTEGER NOT NULL
  );
  `,
  // Change marks (SqliteChangeMarks): one row per committed write, naming what it changed.
  `
  CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, keys TEXT NOT NULL);
  `,
  // Intents (the storage ports' shape of fan-out jobs): `inline` intents are applied by their
  // writer and handed to a worker only after a crash; `lease`: when a claim or its progress was last recorded (ms, see SqliteIntentQueue).
  // Groups keep the newest activity id their per-group limit dropped, and each feed a version of
  // its groups that every change of a group row moves (compare-and-set writes of whole groups).
  `
  ALTER TABLE outbox ADD COLUMN mode TEXT NOT NULL DEFAULT 'queued';
  ALTER TABLE outbox ADD COLUMN lease INTEGER;
  ALTER TABLE groups ADD COLUMN trimmed BLOB;
  ALTER TABLE feeds ADD COLUMN gver INTEGER NOT NULL DEFAULT 0;
  CREATE TRIGGER groups_version_insert AFTER INSERT ON groups BEGIN UPDATE feeds SET gver = gver + 1 WHERE id = NEW.feed; END;
  CREATE TRIGGER groups_version_update AFTER UPDATE ON groups BEGIN UPDATE feeds SET gver = gver + 1 WHERE id = NEW.feed; END;
  CREATE TRIGGER groups_version_delete AFTER DELETE ON groups BEGIN UPDATE feeds SET gver = gver + 1 WHERE id = OLD.feed; END;
  `,
  // Recent flat entries (see SqliteTimelines): adds land in this small table, whose few pages a
  // commit rewrites whatever feeds it touches, and a background merge moves them into `entries`
  // in feed order, each feed's page rewritten once for many entries. An entry is in exactly one
  // of the two tables; `feeds.n` counts the flat entries of `entries` only. By sort key for the
  // activity sweep (new activities' keys are the newest: those inserts land at the index's end).
  `
  CREATE TABLE recent_entries (
    feed INTEGER NOT NULL,
    sk BLOB NOT NULL,
    origin INTEGER,
    PRIMARY KEY (feed, sk)
  ) WITHOUT ROWID;
  CREATE INDEX recent_entries_sk ON recent_entries (sk);
  `,
  // A reader's own reactions on a page's activities (SqliteReactionStore.latestReactions): one seek
  // per activity into the reader's reactions not deleted, whatever the number of others'.
  `
  CREATE INDEX reactions_own ON reactions (app, user_id, activity_id, parent, kind, created, id) WHERE deleted IS NULL;
  `,
];

/**
 * What a store call reads, so that group-commit writes which cannot change its answer may keep
 * waiting for their commit (see {@link SqliteDatabase.guard}):
 * - `graph`: follow edges and pull flags only;
 * - `content`: activity rows (by id or foreign id) and content tags only;
 * - `all`: anything.
 */
export type StoreReads = 'all' | 'graph' | 'content';

/**
 * Ids bound as one JSON array parameter, without repeats: statements join them from `json_each`,
 * one seek per element, so a repeated id would be read (and returned) twice.
 */
export function idsParam(ids: readonly string[]): string {
  if (ids.length < 2) return JSON.stringify(ids);
  const set = new Set(ids);
  return JSON.stringify(set.size === ids.length ? ids : [...set]);
}

/** How often a process looks at the writers table for other processes (ms, at most). */
export const WRITERS_CHECK_MS = 250;
/**
 * How long a process that finds other processes registered waits before it writes (ms): longer
 * than {@link WRITERS_CHECK_MS}, so that every other process has looked at the table, seen it and
 * started checking for its commits before the first of them lands.
 */
export const WRITER_GRACE_MS = 4 * WRITERS_CHECK_MS;

export class SqliteDatabase {
  readonly db: Database.Database;
  /** The database file (`:memory:` for tests). */
  readonly path: string;
  readonly #apps = new Map<string, number>();
  readonly #feeds = new Map<string, Map<string, number>>();
  readonly #feedNames = new Map<number, string>();
  readonly #insertApp: Database.Statement;
  readonly #selectApp: Database.Statement;
  readonly #insertFeed: Database.Statement;
  readonly #selectFeed: Database.Statement;
  readonly #selectFeedName: Database.Statement;
  readonly #ownChanges: Database.Statement;
  readonly #changeMark: Database.Statement;
  readonly #dataVersion: Database.Statement;
  readonly #otherWriters: Database.Statement;
  /** This connection's row in the writers table. */
  readonly #writerId = randomUUID();
  /**
   * When last looked (performance.now()): whether other processes had the database open, and how
   * many processes ever registered (AUTOINCREMENT's counter, so one that came and went shows).
   */
  #others = true;
  #registrations = 0;
  #othersAt = -Infinity;
  /** When this process may write (performance.now()); see {@link ready}. */
  #writableAt = 0;
  #settle: ((reads: StoreReads) => void) | null = null;
  /**
   * Beside other processes: the `data_version` of the last look at their commits, and the request
   * count ({@link arrivalCount}) when it was taken; null when it must be looked at again (see
   * {@link changeMark}).
   */
  #othersVersion: number | null = null;
  #othersVersionAt = 0;
  #forgetScheduled = false;
  /** Commits of this process made through another connection (the writer thread), counted there. */
  #commits: Int32Array | null = null;
  readonly #registered: boolean;

  /**
   * `register: false` opens a second connection of a process that is already registered (the
   * writer thread's): it does not appear in the writers table.
   */
  constructor(path: string, opts: { register?: boolean } = {}) {
    this.path = path;
    this.#registered = opts.register !== false;
    try {
      if (path !== ':memory:') createPrivately(path);
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      // FULL: a transaction is on disk when commit returns, so acknowledged writes survive power loss.
      this.db.pragma('synchronous = FULL');
      // Checkpoint every ~160 MB of WAL instead of 4 MB: a fan-out commit touches a page in each
      // follower feed, and the same pages recur between checkpoints, so rarer checkpoints copy
      // each page back once instead of many times (end-to-end fan-out 36k → 58k inserts/s at
      // 40 MB; at 160 MB a queued drain on soc-Slashdot0902, whose 80,000 feeds' pages recur
      // less often, reads half the bytes per insert and writes 15–20% fewer).
      this.db.pragma('wal_autocheckpoint = 40000');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('cache_size = -65536');
      this.migrate();
    } catch (err) {
      throw new StoreError(`cannot open the database at ${path}: ${(err as Error).message}`, err);
    }
    this.#insertApp = this.db.prepare('INSERT OR IGNORE INTO apps (app_id) VALUES (?)');
    this.#selectApp = this.db.prepare('SELECT id FROM apps WHERE app_id = ?').pluck();
    this.#insertFeed = this.db.prepare('INSERT OR IGNORE INTO feeds (app, slug, fid) VALUES (?, ?, ?)');
    this.#selectFeed = this.db.prepare('SELECT id FROM feeds WHERE app = ? AND fid = ?').pluck();
    this.#selectFeedName = this.db.prepare('SELECT fid FROM feeds WHERE id = ?').pluck();
    // total_changes() counts rows this connection changed; data_version moves when another
    // connection (another process, a separate worker) commits.
    this.#ownChanges = this.db.prepare('SELECT total_changes()').pluck();
    this.#changeMark = this.db.prepare('SELECT total_changes(), (SELECT data_version FROM pragma_data_version)').raw();
    this.#dataVersion = this.db.prepare('SELECT data_version FROM pragma_data_version').pluck();
    this.#otherWriters = this.db
      .prepare("SELECT (SELECT count(*) FROM writers WHERE id <> ?), (SELECT seq FROM sqlite_sequence WHERE name = 'writers')")
      .raw();
    if (this.#registered) this.register();
  }

  /**
   * Puts this connection into the writers table (dropping rows of processes that died without
   * closing) and decides when it may write: at once when it is alone, after {@link WRITER_GRACE_MS}
   * when others are there, so they notice it first (see {@link changeMark}).
   */
  private register(): void {
    const rows = this.db.prepare('SELECT id, host, pid, boot FROM writers').all() as { id: string; host: string; pid: number; boot: string }[];
    const gone = this.db.prepare('DELETE FROM writers WHERE id = ?');
    const add = this.db.prepare('INSERT INTO writers (id, host, pid, boot, started) VALUES (?, ?, ?, ?, ?)');
    // A process that died without closing stays listed until a process on its host starts and
    // sees it gone: others only check for its commits meanwhile, which costs speed, never
    // correctness. Only rows of this host are judged (a container sharing the file sees other
    // process ids than its own), and a row with this process's id but another boot is an earlier
    // process that had the same id (a restarted container's process 1).
    const host = hostname();
    const dead = (r: (typeof rows)[number]) => r.host === host && (r.pid === process.pid ? r.boot !== BOOT : !alive(r.pid));
    this.db.transaction(() => {
      for (const r of rows) if (dead(r)) gone.run(r.id);
      add.run(this.#writerId, host, process.pid, BOOT, Date.now());
    }).immediate();
    if (this.othersPresent(true)) this.#writableAt = performance.now() + WRITER_GRACE_MS;
  }

  /** Whether other processes have the database open, looked up at most every WRITERS_CHECK_MS. */
  private othersPresent(now = false): boolean {
    const t = performance.now();
    if (now || t - this.#othersAt > WRITERS_CHECK_MS) {
      const [others, registrations] = this.#otherWriters.get(this.#writerId) as [number, number];
      this.#others = others > 0;
      this.#registrations = registrations;
      this.#othersAt = t;
    }
    return this.#others;
  }

  /**
   * Resolves once this process may write: at once, unless it opened the database beside other
   * running processes, which must first notice it (about a second). Servers and workers wait for
   * it before they start.
   */
  async ready(): Promise<void> {
    const wait = this.#writableAt - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /**
   * Differs whenever any connection may have changed the data since the last call (other
   * processes: see below). Alone, a process only needs its own change count (a counter read);
   * beside other processes it also asks SQLite whether another connection committed
   * (`data_version`), which costs a statement and a lock round trip on the shared WAL index. A
   * process that opens the database beside others waits until they have seen it before it writes
   * ({@link ready}), so a process that believes itself alone is never wrong about it.
   *
   * Beside others, their commits are looked at once per request received and event-loop turn, not
   * on every call (a read checks the mark several times: the read cache, the pull-served feeds,
   * the parts cache). The answer of a look is reused until a request arrives after it
   * ({@link arrivalCount}, counted before the request does anything) or the event loop turns. That
   * is exact for every client: a request that uses a reused look was received before the look was
   * taken, hence sent before it, so a write acknowledged to its client before it was sent (by any
   * process) had committed before the look and moved `data_version` for it. A write that commits
   * after the look is concurrent with such a request, and answering without it is answering as of
   * the look, after the request arrived. This process's own commits are never taken from a look:
   * its connection's change count and the writer thread's commit counter are read on every call.
   * Work that is not a request (background jobs) sees other processes' commits one turn late at most.
   */
  changeMark(): string {
    // The writer thread's commits are counted in shared memory, incremented after each commit and
    // before its writes are acknowledged.
    const thread = this.#commits === null ? '' : `:${Atomics.load(this.#commits, 0)}`;
    // Alone: own changes, and the registration counter, in case a process came, wrote and left
    // between two looks.
    if (!this.othersPresent()) return `${this.#ownChanges.get() as number}:${this.#registrations}${thread}`;
    const arrived = arrivalCount();
    if (this.#othersVersion !== null && this.#othersVersionAt === arrived) return `${this.#ownChanges.get() as number}.${this.#othersVersion}${thread}`;
    const [own, others] = this.#changeMark.get() as [number, number];
    this.tookOthersVersion(others, arrived);
    return `${own}.${others}${thread}`;
  }

  /**
   * Differs whenever another process may have committed since the last call, looked at as
   * {@link changeMark} looks (the same reuse of one look per request and turn). Alone, it moves
   * only when a process registers; beside others, with every commit of any other connection,
   * this process's writer thread included. A cache of data that only this process's writes of
   * a known kind change stays exact while this mark and its own count of those writes stand still.
   */
  othersMark(): string {
    if (!this.othersPresent()) return `${this.#registrations}`;
    const arrived = arrivalCount();
    if (this.#othersVersion !== null && this.#othersVersionAt === arrived) return `.${this.#othersVersion}`;
    const others = this.#dataVersion.get() as number;
    this.tookOthersVersion(others, arrived);
    return `.${others}`;
  }

  private tookOthersVersion(others: number, arrived: number): void {
    this.#othersVersion = others;
    this.#othersVersionAt = arrived;
    if (!this.#forgetScheduled) {
      this.#forgetScheduled = true;
      setImmediate(() => {
        this.#forgetScheduled = false;
        this.#othersVersion = null;
      });
    }
  }

  /** Schema steps applied to this file, and the steps this version of Rivulet knows. */
  migrations(): { applied: number; latest: number } {
    return { applied: this.db.pragma('user_version', { simple: true }) as number, latest: MIGRATIONS.length };
  }

  private migrate(): void {
    const version = () => this.db.pragma('user_version', { simple: true }) as number;
    if (version() >= MIGRATIONS.length) return;
    // Several processes may open the file at once (`serve --workers N`): each step takes the write
    // lock first (IMMEDIATE) and reads the version again under it, so every step runs exactly once.
    const step = this.db.transaction(() => {
      const v = version();
      if (v >= MIGRATIONS.length) return false;
      this.db.exec(MIGRATIONS[v]);
      this.db.pragma(`user_version = ${v + 1}`);
      return true;
    });
    while (step.immediate()) {
      /* next step */
    }
  }

  /** The integer of an app, created on first use. */
  appInt(app: string): number {
    let id = this.#apps.get(app);
    if (id === undefined) {
      id = this.#selectApp.get(app) as number | undefined;
      if (id === undefined) {
        this.#insertApp.run(app);
        id = this.#selectApp.get(app) as number;
      }
      this.#apps.set(app, id);
    }
    return id;
  }

  /** The integer of a feed, or undefined if it never held anything. */
  findFeed(app: string, fid: string): number | undefined {
    // Per-app maps, so the hot path (fan-out chunks) does no key concatenation.
    let id = this.#feeds.get(app)?.get(fid);
    if (id === undefined) {
      id = this.#selectFeed.get(this.appInt(app), fid) as number | undefined;
      if (id !== undefined) this.remember(app, id, fid);
    }
    return id;
  }

  /** The integer of a feed, created on first use (call inside a write transaction). */
  feedInt(app: string, fid: string): number {
    let id = this.findFeed(app, fid);
    if (id === undefined) {
      const a = this.appInt(app);
      this.#insertFeed.run(a, fid.slice(0, fid.indexOf(':')), fid);
      id = this.#selectFeed.get(a, fid) as number;
      this.remember(app, id, fid);
    }
    return id;
  }

  /** The `slug:uid` of a feed integer. */
  feedName(id: number): string {
    let name = this.#feedNames.get(id);
    if (name === undefined) {
      name = this.#selectFeedName.get(id) as string;
      this.#feedNames.set(id, name);
    }
    return name;
  }

  private remember(app: string, id: number, fid: string): void {
    // Bounded cache: a server sees unbounded numbers of feeds.
    if (this.#feedNames.size > 200_000) {
      this.#feeds.clear();
      this.#feedNames.clear();
    }
    let feeds = this.#feeds.get(app);
    if (!feeds) this.#feeds.set(app, (feeds = new Map()));
    feeds.set(fid, id);
    this.#feedNames.set(id, fid);
  }

  /** Forgets cached feed integers (after a rolled-back transaction created some). */
  forgetFeeds(): void {
    this.#apps.clear();
    this.#feeds.clear();
    this.#feedNames.clear();
  }

  /**
   * Registers the write store's group commit: `settle` commits the writes still waiting for it.
   * Every store call runs it first (see {@link guard}), so each call sees every write handed to
   * the store before it.
   */
  onAccess(settle: (reads: StoreReads) => void): void {
    this.#settle = settle;
  }

  /**
   * Registers the writer thread's commit counter (an Int32Array over shared memory, incremented by
   * the thread after each commit and before it acknowledges the writes): {@link changeMark} reads it.
   */
  countCommits(commits: Int32Array): void {
    this.#commits = commits;
  }

  /**
   * {@link guard} for store calls that return a promise. Writes applied on this connection that
   * still wait for their group commit are committed first, as for every store call; with a writer
   * thread, the call sees every write the thread acknowledged.
   */
  async read<T>(what: string, fn: () => T, reads: StoreReads | boolean = false): Promise<T> {
    return this.guard(what, fn, reads);
  }

  /**
   * Runs `fn` and translates driver failures into a {@link StoreError} keeping the cause. Waiting
   * group-commit writes are committed first, unless none of them can change what `fn` reads (see
   * {@link StoreReads}): `true` is a read of follow edges and pull flags only.
   */
  guard<T>(what: string, fn: () => T, reads: StoreReads | boolean = false): T {
    if (this.#settle !== null) this.#settle(reads === true ? 'graph' : reads === false ? 'all' : reads);
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
      if (code !== undefined && String(code).startsWith('SQLITE')) {
        // SQLITE_CORRUPT (and its extended codes) and SQLITE_NOTADB: the file's pages are damaged.
        const corrupt = String(code).startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
        // Failures of the database rather than of the call: another process holds the lock, the
        // disk is full or failing. The same call may succeed later.
        const transient = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL)/.test(String(code));
        throw new StoreError(`store failure during ${what}`, err, { corrupt, transient });
      }
      throw err;
    }
  }

  close(): void {
    if (!this.db.open) return;
    if (this.#settle !== null) this.#settle('all');
    try {
      if (this.#registered) this.db.prepare('DELETE FROM writers WHERE id = ?').run(this.#writerId);
    } finally {
      this.db.close();
    }
  }
}

/**
 * Creates the database's directory (0700) and file (0600) when they do not exist yet, so that
 * nobody else on the machine can read the data; SQLite gives the WAL and shared-memory files the
 * database file's permissions. Existing files keep theirs.
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
}

/** Names this run of this process: connections opened by one process share it. */
const BOOT = randomUUID();

/** Whether a process id is running on this machine (EPERM: running, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
