import type Database from 'better-sqlite3';

/**
 * Tables of the personalization stores (personalization.md §5), versioned apart from the feed
 * tables (their own counter in `signal_schema`), so both schemas evolve without renumbering each
 * other. Apps are the interned integers of `apps`.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE p_events (
    app INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    source TEXT NOT NULL,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    activity TEXT,
    foreign_id TEXT,
    weight REAL NOT NULL,
    feed_id TEXT,
    location TEXT,
    position INTEGER,
    features TEXT NOT NULL,
    tracked INTEGER NOT NULL,
    received INTEGER NOT NULL,
    PRIMARY KEY (app, seq)
  ) WITHOUT ROWID;
  CREATE INDEX p_events_received ON p_events (app, received);
  CREATE INDEX p_events_orphans ON p_events (app, seq) WHERE activity IS NULL;
  CREATE TABLE p_event_seq (app INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
  CREATE TABLE p_event_keys (
    app INTEGER NOT NULL,
    key TEXT NOT NULL,
    until INTEGER NOT NULL,
    PRIMARY KEY (app, key)
  ) WITHOUT ROWID;
  CREATE INDEX p_event_keys_until ON p_event_keys (app, until);
  CREATE TABLE p_profile (
    app INTEGER NOT NULL,
    user TEXT NOT NULL,
    dim TEXT NOT NULL,
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    weight REAL NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (app, user, dim, source, key)
  ) WITHOUT ROWID;
  CREATE TABLE p_item_tags (
    app INTEGER NOT NULL,
    activity TEXT NOT NULL,
    tag TEXT NOT NULL,
    source TEXT NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (app, activity, tag)
  ) WITHOUT ROWID;
  CREATE TABLE p_content_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app INTEGER NOT NULL,
    activity TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE p_hidden (
    app INTEGER NOT NULL,
    user TEXT NOT NULL,
    activity TEXT NOT NULL,
    hidden_at INTEGER NOT NULL,
    placements TEXT NOT NULL,
    PRIMARY KEY (app, user, activity)
  ) WITHOUT ROWID;
  `,
];

/** Creates or upgrades the personalization tables; safe to call from every process and constructor. */
export function ensureSignalSchema(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS signal_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)');
  const version = () => (db.prepare('SELECT version FROM signal_schema WHERE id = 1').pluck().get() as number | undefined) ?? 0;
  if (version() >= MIGRATIONS.length) return;
  // Processes may open the file at once: each step takes the write lock and reads the version again.
  const step = db.transaction(() => {
    const v = version();
    if (v >= MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[v]);
    db.prepare('INSERT INTO signal_schema (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version').run(v + 1);
    return true;
  });
  while (step.immediate()) {
    /* next step */
  }
}
