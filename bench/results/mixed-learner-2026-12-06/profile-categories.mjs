// node excl.mjs FILE... : exclusive categories (first matching rule wins), ms per profile and ms per 1000 responses if given via RESP env (comma list)
import { readFileSync } from 'node:fs';
const files = process.argv.slice(2);
const rules = [
  ['gc', /garbage collector/],
  ['learner round', /signal-worker\.ts|runtime\.ts:#learn|runtime\.ts:step$/],
  ['reaction write', /reactions\.ts:addReaction/],
  ['post write', /add-activities\.ts:addActivities|feed-routes.*post/],
  ['writer thread msgs', /sqlite-writer-thread/],
  ['read: send', /reply\.ts:sendOpen/],
  ['read: page build (readFeed/enrich)', /read-feed\.ts:readFeed|enrich\.ts:buildEnriched|enrich\.ts:enrichShared/],
  ['read: cache look/catch-up', /change-cache\.ts|read-cache\.ts/],
  ['read: route other', /feed-routes\.ts|enrich-routes/],
  ['realtime/publish', /publish-changes|realtime\/(?!faye-server)/],
];
const label = (n) => `${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${n.callFrame.functionName}`;
const out = {};
for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0));
  const cat = {};
  let busy = 0;
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (n.callFrame.functionName === '(idle)') continue;
    busy += t;
    const labels = [];
    for (let x = id; x !== undefined; x = parent.get(x)) labels.push(label(byId.get(x)));
    let c = 'other (HTTP, fastify, continuations)';
    for (const [name, re] of rules) if (labels.some((l) => re.test(l))) { c = name; break; }
    cat[c] = (cat[c] ?? 0) + t;
  }
  out[file] = { busy, cat };
}
const names = [...rules.map((r) => r[0]), 'other (HTTP, fastify, continuations)'];
console.log(['category', ...files.map((f) => f.split('/').slice(-2).join('/'))].join(' | '));
console.log(['busy ms', ...files.map((f) => (out[f].busy / 1000).toFixed(0))].join(' | '));
for (const n of names) console.log([n, ...files.map((f) => `${((out[f].cat[n] ?? 0) / 1000).toFixed(0)} ms (${((100 * (out[f].cat[n] ?? 0)) / out[f].busy).toFixed(1)}%)`)].join(' | '));
