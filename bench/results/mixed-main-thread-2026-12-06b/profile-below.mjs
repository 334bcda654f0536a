// node below.mjs FILE REGEX [depth]: time of samples whose stack has a frame matching REGEX (outermost), grouped by the `depth` frames below it
import { readFileSync } from 'node:fs';
const [file, re, depthS] = process.argv.slice(2);
const depth = Number(depthS ?? 2);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (process.env.COUNT ? 1000 : (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0)));
const label = (n) => `${n.callFrame.functionName || '(anon)'}@${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/').replace(/^node:/, '')}`;
const rx = new RegExp(re);
let busy = 0; const agg = new Map();
for (const [id, t] of self) {
  const n = byId.get(id);
  if (n.callFrame.functionName === '(idle)') continue;
  busy += t;
  const chain = [];
  for (let x = id; x !== undefined; x = parent.get(x)) chain.push(label(byId.get(x)));
  chain.reverse();
  const i = chain.findIndex((l) => rx.test(l));
  if (i < 0) continue;
  const key = chain.slice(i, i + 1 + depth).join(' > ');
  agg.set(key, (agg.get(key) ?? 0) + t);
}
let tot = 0; for (const [, t] of agg) tot += t;
console.log(`matched ${(tot/1000).toFixed(0)} ms of ${(busy/1000).toFixed(0)} busy (${(100*tot/busy).toFixed(1)}%)`);
for (const [k, t] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30))) console.log(`${(t/1000).toFixed(0).padStart(6)} ms ${(100*t/busy).toFixed(1).padStart(5)}%  ${k}`);
