import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
const P='/tmp/rivulet-mmap-after-commit.db';
if(!existsSync(P)){
  const db=new Database(P); db.pragma('journal_mode=WAL');
  db.exec(`CREATE TABLE follows(target INTEGER NOT NULL, source INTEGER NOT NULL, created INTEGER NOT NULL, grouped INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(target,source)) WITHOUT ROWID;
  CREATE INDEX f_tc ON follows(target,created); CREATE INDEX f_sc ON follows(source,created); CREATE UNIQUE INDEX f_st ON follows(source,target);
  CREATE TABLE entries(feed INTEGER NOT NULL, sk BLOB NOT NULL, origin INTEGER, grp INTEGER, PRIMARY KEY(feed,sk)) WITHOUT ROWID;
  CREATE TABLE feeds(id INTEGER PRIMARY KEY, n INTEGER, fid TEXT); CREATE TABLE t(x);`);
  const rnd=(s=>()=>(s=(s*1103515245+12345)&0x7fffffff)/0x7fffffff)(3);
  const fi=db.prepare('INSERT OR IGNORE INTO follows VALUES (?,?,?,0)'), ei=db.prepare('INSERT OR IGNORE INTO entries VALUES (?,?,?,NULL)'), fe=db.prepare('INSERT INTO feeds VALUES (?,?,?)');
  db.transaction(()=>{ for(let i=0;i<870000;i++) fi.run(1+Math.floor(rnd()*82000),1+Math.floor(rnd()*82000),i);
    for(let i=1;i<=82000;i++) fe.run(i,10,'timeline:'+i);
    const sk=Buffer.alloc(16); for(let i=0;i<900000;i++){ sk.writeUInt32BE(i,0); sk.writeUInt32BE(Math.floor(rnd()*1e9),4); ei.run(1+Math.floor(rnd()*82000),sk,5);} })();
  db.pragma('wal_checkpoint(TRUNCATE)'); db.close();
}
const mm=+process.argv[2];
const r=new Database(P); r.pragma('cache_size=-65536'); r.pragma('mmap_size='+mm);
const w=new Database(P); w.pragma('synchronous=OFF');
const page=r.prepare('SELECT source, grouped FROM follows WHERE target = ? AND source > ? ORDER BY source LIMIT ?').raw();
const scan=r.prepare('SELECT lower(hex(sk)), origin FROM entries WHERE feed = ? ORDER BY sk DESC LIMIT 25').raw();
const tot=r.prepare('SELECT n FROM feeds WHERE id = ?').pluck();
const wr=w.prepare('INSERT INTO t VALUES (1)');
const rnd=(s=>()=>(s=(s*1103515245+12345)&0x7fffffff)/0x7fffffff)(9);
for (const commitEvery of [1, 10, 100, 1e9]) {
  const t=process.cpuUsage(); const N=60000;
  for(let i=0;i<N;i++){ if(i%commitEvery===0) wr.run(); const f=1+Math.floor(rnd()*82000); page.all(f,0,1); tot.get(f); scan.all(f); }
  const c=process.cpuUsage(t); console.log(`mmap=${mm} commit every ${commitEvery===1e9?"never":commitEvery+" reads"}: ${((c.user+c.system)/N).toFixed(2)} us CPU per read (sys ${(c.system/N).toFixed(2)})`);
}
