// Store calls per enriched timeline read rebuilt after a like (read cache on), and per flat+enriched pair after a post.
import { readFileSync } from 'node:fs';
const root = process.cwd();
const { startServer } = await import(`${root}/test/support/server.ts`);
const { parseExposition } = await import(`${root}/test/support/prometheus.ts`);
const t = await startServer();
const c = t.client();
const reader = 'reader';
const authors = Array.from({ length: 20 }, (_, i) => `a${i}`);
await c.followMany(authors.map((a) => ({ source: `timeline:${reader}`, target: `user:${a}` })));
const ids: string[] = [];
for (let i = 0; i < 60; i++) ids.push((await c.feed('user', authors[i % 20]).addActivity({ actor: `SU:${authors[i % 20]}`, verb: 'post', object: `o${i}` })).id);
const token = c.createUserToken(reader);
const headers = { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' };
const q = 'withOwnReactions=true&withRecentReactions=true&withReactionCounts=true&limit=25';
const read = async (p: string) => { const r = await t.rivulet.http.inject({ method: 'GET', url: `/api/v1.0/${p}api_key=${t.apiKey}`, headers }); if (r.statusCode !== 200) throw new Error(r.body); };
const calls = async () => {
  const r = await t.rivulet.http.inject({ method: 'GET', url: '/metrics' });
  const m = parseExposition(r.body);
  const out: Record<string, number> = {};
  for (const s of m.samples ?? []) if (s.name === 'rivulet_store_call_duration_seconds_count') out[s.labels.method] = (out[s.labels.method] ?? 0) + s.value;
  return out;
};
const diff = (a: Record<string, number>, b: Record<string, number>, n: number) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, (v - (a[k] ?? 0)) / n]).filter(([, v]) => (v as number) > 0));
await read(`enrich/feed/timeline/${reader}/?${q}&`); await read(`feed/timeline/${reader}/?limit=25&`);
const N = 50;
// likes: the enriched page is stale after each, rebuilt
let a = await calls();
for (let i = 0; i < N; i++) {
  const r = await t.rivulet.http.inject({ method: 'POST', url: `/api/v1.0/reaction/?api_key=${t.apiKey}`, headers, payload: { kind: 'like', activity_id: ids[59 - (i % 25)] } });
  if (r.statusCode !== 201) throw new Error(r.body);
  await t.rivulet.store.writes?.handedOver?.();
  const b0 = await calls();
  await read(`enrich/feed/timeline/${reader}/?${q}&`);
  const b1 = await calls();
  for (const [k, v] of Object.entries(b1)) (a as any)['~' + k] = ((a as any)['~' + k] ?? 0) + v - (b0[k] ?? 0);
}
console.log('per enriched rebuild after a like:', JSON.stringify(Object.fromEntries(Object.entries(a).filter(([k]) => k.startsWith('~')).map(([k, v]) => [k.slice(1), v / N]).filter(([, v]) => (v as number) > 0))));
// posts: flat and enriched pages both rebuilt
const acc: Record<string, number> = {};
for (let i = 0; i < N; i++) {
  await c.feed('user', authors[i % 20]).addActivity({ actor: `SU:${authors[i % 20]}`, verb: 'post', object: `p${i}` });
  const b0 = await calls();
  await read(`feed/timeline/${reader}/?limit=25&`);
  await read(`enrich/feed/timeline/${reader}/?${q}&`);
  const b1 = await calls();
  for (const [k, v] of Object.entries(b1)) acc[k] = (acc[k] ?? 0) + v - (b0[k] ?? 0);
}
console.log('per flat+enriched pair rebuilt after a post:', JSON.stringify(Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, v / N]).filter(([, v]) => v > 0))));
await t.close();
process.exit(0);
