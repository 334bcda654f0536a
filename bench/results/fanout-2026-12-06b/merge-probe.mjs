// The recent-entries layout alone, without the server: `entries` holding 60 entries per feed for
// F feeds, `recent_entries` merged in steps of 2,000 rows once M rows wait (one step between
// commits, a pass running to the last feed as the writer does), and 600 group commits of 4 posts
// x 82 uniformly drawn followers (328 inserts). Prints the mean commit time (synchronous = FULL),
// the WAL frames (pages) each commit writes, and the merge's time and frames per commit.
//   node bench/results/fanout-2026-12-06b/merge-probe.mjs <F> <M>
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
const F = Number(process.argv[2] ?? 5000), M = Number(process.argv[3] ?? 16000), STEP = 2000;
const dir = mkdtempSync(join(tmpdir(), 'mp-'));
const db = new Database(join(dir, 'x.db'));
db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL'); db.pragma('wal_autocheckpoint = 0'); db.pragma('cache_size = -65536');
db.exec(`CREATE TABLE entries (feed INTEGER NOT NULL, sk BLOB NOT NULL, origin INTEGER, grp INTEGER, PRIMARY KEY (feed, sk)) WITHOUT ROWID;
CREATE INDEX entries_sk ON entries (sk);
CREATE TABLE recent_entries (feed INTEGER NOT NULL, sk BLOB NOT NULL, origin INTEGER, PRIMARY KEY (feed, sk)) WITHOUT ROWID;
CREATE INDEX recent_entries_sk ON recent_entries (sk);`);
let t = 1n;
const sk = () => { const b = Buffer.alloc(16); b.writeBigUInt64BE(t++ * 1000n); b.writeUInt32BE(Math.random() * 2 ** 32 >>> 0, 8); return b; };
const insE = db.prepare('INSERT INTO entries VALUES (?, ?, ?, NULL)');
db.transaction(() => { for (let i = 0; i < 60; i++) { const s = sk(); for (let f = 1; f <= F; f++) insE.run(f, s, 1); } })();
const insR = db.prepare('INSERT INTO recent_entries VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
const bound = db.prepare('SELECT feed FROM recent_entries WHERE feed > ? ORDER BY feed, sk LIMIT 1 OFFSET ?').pluck();
const mIns = db.prepare('INSERT INTO entries (feed, sk, origin) SELECT feed, sk, origin FROM recent_entries WHERE feed > @after AND feed < @upto ORDER BY feed, sk ON CONFLICT DO NOTHING');
const mDel = db.prepare('DELETE FROM recent_entries WHERE feed > @after AND feed < @upto');
let recent = 0, after = 0;
const commit = () => db.transaction(() => { for (let p = 0; p < 4; p++) { const s = sk(); for (let j = 0; j < 82; j++) recent += insR.run(1 + Math.floor(Math.random() * F), s, 2).changes; } })();
for (let i = 0; i < M / 328 + 1; i++) commit();
const walsize = () => { try { return statSync(join(dir, 'x.db-wal')).size; } catch { return 0; } };
let cms = 0, mms = 0, cframes = 0, mframes = 0; const n = 600;
for (let c = 0; c < n; c++) {
  if (c % 50 === 0) db.pragma('wal_checkpoint(TRUNCATE)');
  let w = walsize(); let t0 = performance.now(); commit(); cms += performance.now() - t0; const d = walsize() - w; if (d > 0) cframes += d / 4120;
  while (recent >= M || after > 0) {
    db.pragma('synchronous = NORMAL');
    w = walsize(); t0 = performance.now();
    const b = bound.get(after, STEP) ?? null;
    const upto = b === null ? Number.MAX_SAFE_INTEGER : b;
    const moved = db.transaction(() => { mIns.run({ after, upto }); return mDel.run({ after, upto }).changes; })();
    recent -= moved; after = b === null ? 0 : b - 1;
    mms += performance.now() - t0; const d2 = walsize() - w; if (d2 > 0) mframes += d2 / 4120;
    db.pragma('synchronous = FULL');
    break; // one step between commits, as the writer does
  }
}
console.log(JSON.stringify({ F, M, commit_ms: (cms / n).toFixed(2), commit_frames: (cframes / n).toFixed(0), merge_ms_per_commit: (mms / n).toFixed(2), merge_frames_per_commit: (mframes / n).toFixed(0), total_ms_per_commit: ((cms + mms) / n).toFixed(2), recent }));
rmSync(dir, { recursive: true });
