// usage: node micro.mjs <sqlfile.json>  -- runs variants [{name, sql, params, setup?}] on a copy of bench.db
import { createRequire } from 'node:module';
import { readFileSync, copyFileSync } from 'node:fs';
const req = createRequire('/work/wt/ownreact/package.json');
const Database = req('better-sqlite3');
const spec = (await import(process.argv[2])).default;
copyFileSync('/tmp/ownreact/bench.db', '/tmp/ownreact/micro.db');
const db = new Database('/tmp/ownreact/micro.db');
for (const s of spec.setup ?? []) db.exec(s);
const N = Number(process.env.N ?? 3000);
let ref = null;
for (const v of spec.variants.filter((v) => !process.env.ONLY || v.name === process.env.ONLY)) {
  const A = Array.isArray(v.params) ? v.params : [v.params];
  const st0 = db.prepare(v.sql).raw();
  const call = v.run ? () => v.run(st0) : () => st0.all(...A);
  const st = db.prepare(v.sql).raw();
  const plan = v.run ? '' : db.prepare('EXPLAIN QUERY PLAN ' + v.sql).all(...A).map((r) => r.detail).join(' | ');
  const out = call();
  const key = JSON.stringify(v.norm ? v.norm(out) : out);
  if (ref === null) ref = key;
  for (let i = 0; i < 300; i++) call();
  if (process.env.CG) {
    const { spawn } = await import('node:child_process');
    const spawnSync = async (cmd, args) => { const c = spawn(cmd, args, { stdio: 'ignore' }); let done = false; c.on('exit', () => (done = true)); while (!done) await new Promise((r) => setTimeout(r, 1)); };
    for (let i = 0; i < 2000; i++) call();
    await spawnSync('callgrind_control', ['-i', 'on', String(process.pid)]);
    for (let i = 0; i < N; i++) call();
    await spawnSync('callgrind_control', ['-i', 'off', String(process.pid)]);
    console.log(`${v.name} rows=${out.length} same=${key === ref}`);
    continue;
  }
  const best = [];
  for (let rep = 0; rep < 5; rep++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) call();
    best.push(Number(process.hrtime.bigint() - t) / 1e3 / N);
  }
  best.sort((a, b) => a - b);
  console.log(`${v.name.padEnd(24)} ${best[0].toFixed(1).padStart(7)} us (med ${best[2].toFixed(1)}) rows=${out.length} same=${key === ref}`);
  if (process.env.PLAN) console.log('   ', plan);
}
