// node profile-categories.mjs FILE...: main-thread busy time by category (first matching rule on the sample's stack wins); COUNT=1 weighs every sample alike instead of by its time delta (the deltas are uneven when the sampling thread is starved on a loaded machine)
import { readFileSync } from 'node:fs';
const files = process.argv.slice(2);
const rules = [
  ['GC', /garbage collector/],
  ['learner round (signal worker: content jobs, learner step)', /signal-worker\.ts|runtime\.ts:(step|#learn|noteTagged)$|process-content\.ts|keyword-thread/],
  ['reaction: personalization event on the request path', /reaction-events\.ts|activity-facts\.ts|ingest-events\.ts/],
  ['reaction route: render after commit', /reaction-routes\.ts:render$/],
  ['reaction write (addReaction rest)', /reactions\.ts:addReaction|reaction-routes\.ts/],
  ['post write', /add-activities\.ts|activity-routes|write-step\.ts/],
  ['writer thread messages', /sqlite-writer-thread/],
  ['change marks: catch-up / invalidation', /change-cache\.ts:(catchUp|sync|stale|peekIn|peek)$|sqlite-change-marks/],
  ['read: send (writev)', /reply\.ts:sendOpen/],
  ['read: page build', /read-feed\.ts|enrich\.ts|read-parts\.ts|read-deps\.ts/],
  ['read: change cache other', /change-cache\.ts/],
  ['read: route other', /feed-routes\.ts/],
  ['HTTP: the health plugin in front of routing (every request)', /health-routes/],
  ['realtime', /faye|realtime\//],
];
const label = (n) => `${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${n.callFrame.functionName}`;
const out = {};
for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (process.env.COUNT ? 1000 : (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0)));
  const cat = {}; let busy = 0;
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (n.callFrame.functionName === '(idle)') continue;
    busy += t;
    const labels = [];
    for (let x = id; x !== undefined; x = parent.get(x)) labels.push(label(byId.get(x)));
    let c = 'other (HTTP parsing, Fastify, auth, continuations)';
    for (const [name, re] of rules) if (labels.some((l) => re.test(l))) { c = name; break; }
    cat[c] = (cat[c] ?? 0) + t;
  }
  out[file] = { busy, cat };
}
const names = [...rules.map((r) => r[0]), 'other (HTTP parsing, Fastify, auth, continuations)'];
console.log('| category | ' + files.map((f) => f.split('/').slice(-2).join('/')).join(' | ') + ' |');
console.log('| --- |' + files.map(() => ' ---: |').join(''));
console.log('| busy ms | ' + files.map((f) => (out[f].busy / 1000).toFixed(0)).join(' | ') + ' |');
for (const n of names) console.log(`| ${n} | ` + files.map((f) => `${((out[f].cat[n] ?? 0) / 1000).toFixed(0)} ms (${((100 * (out[f].cat[n] ?? 0)) / out[f].busy).toFixed(1)}%)`).join(' | ') + ' |');
