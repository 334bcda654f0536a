/**
 * The baselines every ratio in the suite is taken against, measured in the same run as the figure:
 *
 * 1. HTTP ceiling — a bare Fastify route in this process serving a precomputed body, loaded by
 *    the same load generator with the same connections and duration.
 * 2. Store ceiling — the raw insert rate of the same (feed, sort key, origin) rows into a table
 *    identical to Rivulet's `entries` (WITHOUT ROWID, same primary key and index, same pragmas)
 *    in one better-sqlite3 transaction.
 * 3. PostgreSQL pull — the same follows and activities in PostgreSQL; a reader's "25 newest
 *    activities of everyone I follow" as one JOIN / ORDER BY / LIMIT query.
 */
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GCProfiler } from 'node:v8';
import pg from 'pg';
import { percentile } from './graph.js';
import { round } from './harness.js';
import type { CannonResult, Load, ProbeResult } from './load.js';

// ---------------------------------------------------------------------------------------------
// (1) HTTP ceiling

/** Serves `body` (JSON text) at GET /ceiling with a bare Fastify and loads it like a real read. */
export async function httpCeiling(load: Load, body: string, connections: number, durationS: number): Promise<CannonResult & { body_bytes: number }> {
  const server = Fastify({ logger: false });
  const payload = Buffer.from(body);
  server.get('/ceiling', async (_req, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    return payload;
  });
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    // Same request shape as the API reads: a query string and the two auth headers.
    const req = { method: 'GET' as const, path: '/ceiling?api_key=benchkey&limit=25', headers: { authorization: 'x'.repeat(150), 'stream-auth-type': 'jwt' } };
    await load.cannon(base, [req], connections, 1); // warm-up, as for the measured reads
    const r = await load.cannon(base, [req], connections, durationS);
    return { ...r, body_bytes: payload.length };
  } finally {
    await server.close();
  }
}

/**
 * The ceiling of a mixed read load: one bare Fastify serving each of `bodies` at its own path,
 * loaded at once by one autocannon per body with `connections` each (as the measured mix is).
 * With `probe`, the bare server also answers `GET /healthz` (`{"status":"ok"}`) and a lone client
 * reads it every `gapMs` during the measured load, as the measured run's probe does: what a
 * request waits behind the same connections on a server that does nothing else (`probe`).
 */
export async function httpCeilingMix(
  load: Load,
  bodies: Record<string, string>,
  connections: number,
  durationS: number,
  probe?: { gapMs: number },
): Promise<{ cannons: Record<string, CannonResult & { body_bytes: number }>; probe: ProbeResult | null }> {
  const server = Fastify({ logger: false });
  const payloads = new Map(Object.entries(bodies).map(([name, body]) => [name, Buffer.from(body)]));
  server.get('/ceiling/:name', async (req, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    return payloads.get((req.params as { name: string }).name);
  });
  const healthy = Buffer.from('{"status":"ok"}');
  server.get('/healthz', async (_req, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    return healthy;
  });
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    const cannons = [...payloads.keys()].map((name) => ({
      name,
      connections,
      requests: [{ method: 'GET' as const, path: `/ceiling/${name}?api_key=benchkey&limit=25`, headers: { authorization: 'x'.repeat(150), 'stream-auth-type': 'jwt' } }],
    }));
    await load.mix(base, 1, { cannons }); // warm-up, as for the measured reads
    const r = await load.mix(base, durationS, {
      cannons,
      probe: probe ? { request: { method: 'GET', path: '/healthz', headers: {} }, gapMs: probe.gapMs } : undefined,
    });
    return {
      cannons: Object.fromEntries([...payloads].map(([name, p]) => [name, { ...r.cannons[name], body_bytes: p.length }])),
      probe: r.probe ?? null,
    };
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (2) Store ceiling

/** Rows to insert: parallel arrays, in the order Rivulet's fan-out writes them. */
export interface EntryRows {
  feed: Int32Array;
  origin: Int32Array;
  /** Index into `keys` for each row. */
  key: Int32Array;
  keys: Buffer[];
}

/** The schema of Rivulet's `entries` table (src/adapters/sqlite/database.ts), copied. */
const ENTRIES_DDL = `
  CREATE TABLE entries (
    feed INTEGER NOT NULL,
    sk BLOB NOT NULL,
    origin INTEGER,
    grp INTEGER,
    PRIMARY KEY (feed, sk)
  ) WITHOUT ROWID;
  CREATE INDEX entries_group ON entries (feed, grp, sk) WHERE grp IS NOT NULL;`;

export interface StoreCeiling {
  rows: number;
  ms: number;
  /** Of `ms`, the COMMIT (writing the WAL and its fsync); the rest is the insert loop. */
  commit_ms: number;
  /** CPU time of the process meanwhile (all its threads). */
  cpu_ms: number;
  /** Of `cpu_ms`, in the kernel (page faults, writes). */
  cpu_system_ms: number;
  /** Garbage collection meanwhile (the process's heap, whatever ran before left in it). */
  gc_ms: number;
  inserts_per_s: number;
  /** File bytes per row of the ceiling's table after a TRUNCATE checkpoint (schema pages excluded). */
  bytes_per_row: number;
}

/** Inserts `rows` into a fresh identical table in one transaction, with Rivulet's pragmas. */
export function storeCeiling(rows: EntryRows): StoreCeiling {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-ceiling-'));
  const path = join(dir, 'ceiling.db');
  try {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma('cache_size = -65536');
    db.exec(ENTRIES_DDL);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const empty = statSync(path).size;
    const insert = db.prepare('INSERT OR IGNORE INTO entries (feed, sk, origin) VALUES (?, ?, ?)');
    const n = rows.feed.length;
    const gc = new GCProfiler();
    gc.start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < n; i++) insert.run(rows.feed[i], rows.keys[rows.key[i]], rows.origin[i]);
    const t1 = performance.now();
    db.exec('COMMIT');
    const ms = performance.now() - t0;
    const commitMs = performance.now() - t1;
    const cpu = process.cpuUsage(cpu0);
    const gcMs = gc.stop().statistics.reduce((n, g) => n + g.cost, 0) / 1000;
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = statSync(path).size - empty;
    db.close();
    return { rows: n, ms: round(ms), commit_ms: round(commitMs), cpu_ms: round((cpu.user + cpu.system) / 1000), cpu_system_ms: round(cpu.system / 1000), gc_ms: round(gcMs), inserts_per_s: Math.round(n / (ms / 1000)), bytes_per_row: round(bytes / n) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// (3) PostgreSQL pull

export interface PgTarget {
  label: string;
  config: pg.ClientConfig;
}

/**
 * Where PostgreSQL is: the PG* environment variables when any is set, then the local unix socket
 * and loopback TCP as user postgres. The first that answers wins; null when none does.
 */
export async function findPostgres(): Promise<{ target: PgTarget; tried: string[] } | { target: null; tried: string[] }> {
  const candidates: PgTarget[] = [];
  if (Object.keys(process.env).some((k) => k.startsWith('PG'))) candidates.push({ label: 'PG* environment', config: {} });
  for (const host of ['/var/run/postgresql', '/tmp', '127.0.0.1']) {
    candidates.push({ label: `${host} as postgres`, config: { host, port: 5432, user: 'postgres', database: 'postgres' } });
  }
  const tried: string[] = [];
  for (const c of candidates) {
    const client = new pg.Client({ ...c.config, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return { target: c, tried };
    } catch (err) {
      tried.push(`${c.label}: ${(err as Error).message}`);
      await client.end().catch(() => undefined);
    }
  }
  return { target: null, tried };
}

const BENCH_DB = 'rivulet_bench';

/**
 * A client on a database of its own (`rivulet_bench`, created when missing); when the role may not
 * create databases, a schema of that name in the database connected to.
 */
export async function benchClient(t: PgTarget): Promise<{ client: pg.Client; where: string }> {
  const admin = new pg.Client(t.config);
  await admin.connect();
  let own = true;
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DB]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${BENCH_DB}`);
  } catch {
    own = false;
  } finally {
    await admin.end();
  }
  if (own) {
    const client = new pg.Client({ ...t.config, database: BENCH_DB });
    await client.connect();
    return { client, where: `database ${BENCH_DB} via ${t.label}` };
  }
  const client = new pg.Client(t.config);
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${BENCH_DB}; SET search_path TO ${BENCH_DB}`);
  return { client, where: `schema ${BENCH_DB} via ${t.label}` };
}

export interface PullData {
  /** Follow edges: source[i] follows target[i] (graph node numbers). */
  source: Int32Array;
  target: Int32Array;
  /** Activities in posting order: author node, time (µs) and the stored JSON body. */
  author: Int32Array;
  timeUs: Float64Array;
  body: string[];
}

export interface PullResult {
  where: string;
  server_version: string;
  load_ms: number;
  runs: number;
  rows_per_run: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
  query: string;
  plan: string[];
}

export const PULL_QUERY = `SELECT a.id, a.body FROM follows f JOIN activities a ON a.author = f.target
WHERE f.source = $1 ORDER BY a.time_us DESC LIMIT 25`;

/**
 * Loads the data into PostgreSQL (primary key (source, target) on follows, an index on
 * (author, time_us DESC) on activities, ANALYZE) and times the pull query for `reader` over one
 * connection, serially: `warmup` runs, then runs for `durationS` seconds (at least 200).
 */
export async function postgresPull(t: PgTarget, data: PullData, reader: number, durationS: number, warmup = 200): Promise<PullResult> {
  const { client, where } = await benchClient(t);
  try {
    const version = (await client.query('SHOW server_version')).rows[0].server_version as string;
    const t0 = performance.now();
    await client.query('DROP TABLE IF EXISTS follows, activities');
    await client.query('CREATE TABLE follows (source integer NOT NULL, target integer NOT NULL, PRIMARY KEY (source, target))');
    await client.query('CREATE TABLE activities (id bigint PRIMARY KEY, author integer NOT NULL, time_us bigint NOT NULL, body text NOT NULL)');
    const CH = 50_000;
    for (let i = 0; i < data.source.length; i += CH) {
      await client.query('INSERT INTO follows SELECT * FROM unnest($1::int[], $2::int[])', [
        Array.from(data.source.subarray(i, i + CH)),
        Array.from(data.target.subarray(i, i + CH)),
      ]);
    }
    for (let i = 0; i < data.author.length; i += 5_000) {
      const n = Math.min(5_000, data.author.length - i);
      const ids = Array.from({ length: n }, (_, k) => i + k);
      await client.query('INSERT INTO activities SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[])', [
        ids,
        Array.from(data.author.subarray(i, i + n)),
        Array.from(data.timeUs.subarray(i, i + n)),
        data.body.slice(i, i + n),
      ]);
    }
    await client.query('CREATE INDEX activities_author_time ON activities (author, time_us DESC)');
    await client.query('VACUUM ANALYZE follows');
    await client.query('VACUUM ANALYZE activities');
    const loadMs = performance.now() - t0;
    const q = { name: 'pull', text: PULL_QUERY, values: [reader] };
    let rows = 0;
    for (let i = 0; i < warmup; i++) rows = (await client.query(q)).rowCount ?? 0;
    const lat: number[] = [];
    const end = performance.now() + durationS * 1000;
    while (performance.now() < end || lat.length < 200) {
      const s = performance.now();
      await client.query(q);
      lat.push(performance.now() - s);
    }
    lat.sort((a, b) => a - b);
    const plan = (await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${PULL_QUERY.replace('$1', String(reader))}`)).rows.map((r) => r['QUERY PLAN'] as string);
    await client.query('DROP TABLE IF EXISTS follows, activities');
    return {
      where,
      server_version: version,
      load_ms: round(loadMs),
      runs: lat.length,
      rows_per_run: rows,
      latency_ms: {
        p50: round(percentile(lat, 50), 3),
        p90: round(percentile(lat, 90), 3),
        p99: round(percentile(lat, 99), 3),
        max: round(lat[lat.length - 1], 3),
        mean: round(lat.reduce((a, b) => a + b, 0) / lat.length, 3),
      },
      query: PULL_QUERY.replace(/\s+/g, ' '),
      plan,
    };
  } finally {
    await client.end();
  }
}
