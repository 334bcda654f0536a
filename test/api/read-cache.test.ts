// The read cache (src/http/read-cache.ts) through the public surface: a read answered from the
// cache must always equal what a fresh build would answer. Every kind of write that changes a
// read — to the feed, to a user or collection object it references, to reactions, by another
// connection to the same database — must show on the next read.
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { rawRequest, startServer, TEST_GROUPS, uid, type TestServer } from '../support/server.js';
import { openTestStore } from '../support/store.js';

let t: TestServer;
before(async () => {
  t = await startServer();
});
after(async () => t.close());

type Json = Record<string, any>;

async function read(path: string, query: Record<string, string> = {}, token?: string): Promise<Json> {
  const r = await rawRequest(t, 'GET', path, { query, token });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** A GET with a chosen Host header (fetch does not let a caller set it). */
function readWithHost(path: string, query: Record<string, string>, host: string): Promise<Json> {
  const url = new URL(`${t.baseUrl}v1.0/${path}`);
  url.searchParams.set('api_key', t.apiKey);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { host, authorization: t.client().getOrCreateToken() } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
  });
}

const ids = (page: Json): string[] => page.results.map((a: Json) => a.id);

describe('read cache', () => {
  it('a repeated read is the same page; a write to the feed shows on the next read', async () => {
    const feed = t.client().feed('user', uid());
    await feed.addActivity({ actor: 'a', verb: 'post', object: 'o1' });
    const first = await read(`feed/user/${feed.userId}/`);
    const again = await read(`feed/user/${feed.userId}/`);
    assert.deepEqual(ids(again), ids(first));
    const added = await feed.addActivity({ actor: 'a', verb: 'post', object: 'o2' });
    assert.equal(ids(await read(`feed/user/${feed.userId}/`))[0], added.id);
    await feed.removeActivity(added.id);
    assert.deepEqual(ids(await read(`feed/user/${feed.userId}/`)), ids(first));
  });

  it('a reaction leaves plain pages of its activity cached and rebuilds the enriched ones', async () => {
    const c = t.client();
    const feed = c.feed('user', uid());
    const a = await feed.addActivity({ actor: 'a', verb: 'post', object: 'o' });
    const plain = `feed/user/${feed.userId}/`;
    const enriched = `enrich/feed/user/${feed.userId}/`;
    const flags = { withRecentReactions: 'true', withReactionCounts: 'true' };
    const first = await read(plain);
    assert.deepEqual((await read(enriched, flags)).results[0].reaction_counts, {});
    await c.reactions.add('like', a.id, {}, { userId: 'liker' });
    const counts = () => t.rivulet.http.readCache!.counts;
    const { hits, misses } = counts();
    assert.deepEqual((await read(plain)).results, first.results);
    assert.deepEqual({ hits: counts().hits - hits, misses: counts().misses - misses }, { hits: 1, misses: 0 }, 'the plain page shows no reactions');
    assert.deepEqual((await read(enriched, flags)).results[0].reaction_counts, { like: 1 });
    assert.equal(counts().misses - misses, 1, 'the enriched page was rebuilt');
  });

  it('fan-out, follows and updates of activity bodies show on the next read', async () => {
    const c = t.client();
    const author = c.feed('user', uid());
    const reader = c.feed('timeline', uid());
    await read(`feed/timeline/${reader.userId}/`);
    await reader.follow(author.slug, author.userId);
    const a = await author.addActivity({ actor: 'a', verb: 'post', object: 'o', foreign_id: 'f1', time: '2026-01-01T00:00:00', n: 1 });
    assert.deepEqual(ids(await read(`feed/timeline/${reader.userId}/`)), [a.id]);
    await c.activityPartialUpdate({ id: a.id, set: { n: 2 } });
    assert.equal((await read(`feed/timeline/${reader.userId}/`)).results[0].n, 2);
    await reader.unfollow(author.slug, author.userId);
    assert.deepEqual(ids(await read(`feed/timeline/${reader.userId}/`)), []);
  });

  it('enriched reads follow changes to referenced users and collection objects', async () => {
    const c = t.client();
    const userId = uid();
    const user = await c.user(userId).create({ name: 'first' });
    const obj = await c.collections.add('food', uid(), { name: 'soup' });
    const feed = c.feed('user', userId);
    await feed.addActivity({ actor: user, verb: 'eat', object: obj } as any);
    const path = `enrich/feed/user/${userId}/`;
    const before = await read(path);
    assert.equal(before.results[0].actor.data.name, 'first');
    assert.equal(before.results[0].object.data.name, 'soup');
    await c.user(userId).update({ name: 'second' });
    await c.collections.update('food', obj.id, { name: 'stew' });
    const after = await read(path);
    assert.equal(after.results[0].actor.data.name, 'second');
    assert.equal(after.results[0].object.data.name, 'stew');
  });

  it('writes through the user and collection ports show on the next enriched read', async () => {
    // The ports the services write through must be the marked ones: a raw adapter write would
    // leave the cached page in place.
    const c = t.client();
    const userId = uid();
    const user = await c.user(userId).create({ name: 'first' });
    const obj = await c.collections.add('food', uid(), { name: 'soup' });
    await c.feed('user', userId).addActivity({ actor: user, verb: 'eat', object: obj } as any);
    const path = `enrich/feed/user/${userId}/`;
    assert.equal((await read(path)).results[0].actor.data.name, 'first');
    const ports = t.rivulet.store.ports;
    const now = Date.now() * 1000;
    assert.ok(await ports.users.updateUser(t.appId, userId, '{"name":"second"}', now));
    assert.equal((await ports.collections.updateEntry(t.appId, { collection: 'food', id: obj.id }, '{"name":"stew"}', now)).kind, 'done');
    const changed = await read(path);
    assert.equal(changed.results[0].actor.data.name, 'second');
    assert.equal(changed.results[0].object.data.name, 'stew');
    await ports.users.putUsers(t.appId, [{ id: userId, data: '{"name":"third"}', createdUs: now, updatedUs: now + 1 }], 'replace');
    await ports.collections.deleteEntries(t.appId, [{ collection: 'food', id: obj.id }]);
    const last = await read(path);
    assert.equal(last.results[0].actor.data.name, 'third');
    assert.notEqual(last.results[0].object.data?.name, 'stew');
    await ports.users.deleteUsers(t.appId, [userId]);
    assert.notEqual((await read(path)).results[0].actor.data?.name, 'third');
  });

  it('reaction counts and own reactions are right per reader for the same URL', async () => {
    const c = t.client();
    const author = uid();
    const alice = uid();
    const bob = uid();
    const act = await c.feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: 'o' });
    const path = `enrich/feed/user/${author}/`;
    const q = { withOwnReactions: 'true', withReactionCounts: 'true' };
    const tokenOf = (u: string) => c.createUserToken(u);
    const before = await read(path, q, tokenOf(alice));
    assert.deepEqual(before.results[0].reaction_counts, {});
    await c.reactions.add('like', act.id, {}, { userId: alice });
    const forAlice = await read(path, q, tokenOf(alice));
    const forBob = await read(path, q, tokenOf(bob));
    assert.deepEqual(forAlice.results[0].reaction_counts, { like: 1 });
    assert.equal(forAlice.results[0].own_reactions.like.length, 1);
    assert.deepEqual(forBob.results[0].reaction_counts, { like: 1 });
    assert.deepEqual(forBob.results[0].own_reactions, {});
  });

  it('absolute links follow the Host the request came to', async () => {
    const c = t.client();
    const author = uid();
    const act = await c.feed('user', author).addActivity({ actor: author, verb: 'post', object: 'o' });
    for (let i = 0; i < 3; i++) await c.reactions.add('like', act.id, {}, { userId: uid() });
    const q = { withRecentReactions: 'true', recentReactionsLimit: '1' };
    const one = await readWithHost(`enrich/feed/user/${author}/`, q, 'one.example:8000');
    const two = await readWithHost(`enrich/feed/user/${author}/`, q, 'two.example:8000');
    assert.match(one.results[0].latest_reactions_extra.like.next, /^http:\/\/one\.example:8000\//);
    assert.match(two.results[0].latest_reactions_extra.like.next, /^http:\/\/two\.example:8000\//);
  });

  it('notification reads that mark are never answered from the cache', async () => {
    const c = t.client();
    const owner = uid();
    const feed = c.feed('notification', owner);
    await feed.addActivity({ actor: 'a', verb: 'like', object: 'o' });
    const path = `feed/notification/${owner}/`;
    assert.equal((await read(path)).unseen, 1);
    assert.equal((await read(path, { mark_seen: 'true' })).unseen, 1); // counts before the mark
    assert.equal((await read(path, { mark_seen: 'true' })).unseen, 0);
    assert.equal((await read(path)).unseen, 0);
  });

  it('ranked reads are rebuilt when the ranking clock moves to its next step', async () => {
    let nowUs = Date.UTC(2026, 0, 10) * 1000;
    const r = await startServer({
      groups: [{ name: 'ranked', type: 'flat', ranking: { recent: { score: 'decay_linear(time)' } } }],
      clock: { nowUs: () => nowUs },
    });
    try {
      const feed = r.client().feed('ranked', uid());
      await feed.addActivity({ actor: 'a', verb: 'post', object: 'o', time: '2026-01-09T12:00:00' });
      const score = async () => (await feed.get({ ranking: 'recent' })).results[0].score as number;
      const first = await score();
      assert.equal(await score(), first);
      nowUs += 10 * 3600 * 1e6; // ten hours later the day-scale decay has moved on
      const later = await score();
      assert.ok(later < first, `score ${later} after 10 h, ${first} before`);
    } finally {
      await r.close();
    }
  });

  it('a write by another connection to the same database shows on the next read', async () => {
    const feed = t.client().feed('user', uid());
    const mine = await feed.addActivity({ actor: 'a', verb: 'post', object: 'o' });
    assert.deepEqual(ids(await read(`feed/user/${feed.userId}/`)), [mine.id]);
    // A second store over the same data stands for another process (a `rivulet worker`, another
    // `--workers` process, another API node): this process's connection did not make the change.
    const other = await openTestStore(parseConfig({ apps: [{ app_id: t.appId, api_key: t.apiKey, api_secret: t.apiSecret, feed_groups: TEST_GROUPS }] }, t.dataDir));
    try {
      await other.ready?.(); // a process opening the data beside a running one waits to be noticed
      await other.ports.timelines.apply(t.appId, [{ kind: 'remove', feed: `user:${feed.userId}`, ids: [mine.id] }]);
    } finally {
      await other.close();
    }
    assert.deepEqual(ids(await read(`feed/user/${feed.userId}/`)), []);
  });
});
