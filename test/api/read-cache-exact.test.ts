// A cached read is exactly a fresh build: every kind of write is followed by reading a set of
// pages (flat, merged timeline, enriched with reactions per reader, aggregated, notification,
// ranked) from a server with the read cache, from one that caches only the parts pages share
// (activity bodies, enriched activities, own reactions), and from a third over the same database
// without any cache, which builds every answer anew. The caching servers have answered every page
// before each write, so a body or part a write made stale would show as a difference. Some writes
// go through the third server: the caching ones must learn of them from the store's change marks
// alone, as they would of another process's writes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startServer, TEST_GROUPS, uid, type TestServer } from '../support/server.js';
import { parseExposition, total } from '../support/prometheus.js';

const PULL_MIN = 4;
const GROUPS = [...TEST_GROUPS, { name: 'ranked', type: 'flat' as const, ranking: { popular: { score: 'popularity' } } }];

let cached: TestServer;
let parts: TestServer;
let fresh: TestServer;

before(async () => {
  const config = { moderation: { hide_flagged: true } };
  // A feed with more than 4 followers is served by pull: its followers' reads merge it in.
  const fanout = { pull_min_followers: PULL_MIN };
  cached = await startServer({ groups: GROUPS, config, fanout });
  const same = { groups: GROUPS, fanout, dataDir: cached.dataDir, app: { appId: cached.appId, apiKey: cached.apiKey, apiSecret: cached.apiSecret } };
  parts = await startServer({ ...same, config: { ...config, read_cache: { max_mb: 0 } } });
  fresh = await startServer({ ...same, config: { ...config, read_cache: { max_mb: 0, parts_mb: 0 } } });
});
after(async () => {
  await fresh?.close();
  await parts?.close();
  await cached?.close();
});

type Json = Record<string, any>;
type Page = { path: string; query?: Record<string, string>; as?: string };

const ENRICH = { withOwnReactions: 'true', withRecentReactions: 'true', withReactionCounts: 'true', withOwnChildren: 'true' };
/** What `react-activity-feed` asks: the parts every reader shares are reused between pages. */
const SHARED = { withOwnReactions: 'true', withRecentReactions: 'true', withReactionCounts: 'true' };

async function body(t: TestServer, p: Page): Promise<Json> {
  const token = p.as ? t.client().createUserToken(p.as) : undefined;
  const r = await rawRequest(t, 'GET', p.path, { query: p.query ?? {}, token });
  assert.equal(r.status, 200, `${p.path}: ${r.text}`);
  delete r.body.duration;
  return r.body;
}

/** Every page read from the three servers must be the same, and a second cached read too. */
async function same(pages: readonly Page[], step: string): Promise<void> {
  for (const p of pages) {
    const fromCache = await body(cached, p);
    const fromParts = await body(parts, p);
    const built = await body(fresh, p);
    const what = `${p.path} ${JSON.stringify(p.query ?? {})} as ${p.as ?? 'server'}`;
    assert.deepEqual(fromCache, built, `after ${step}: ${what}`);
    assert.deepEqual(fromParts, built, `after ${step}, from kept parts: ${what}`);
    assert.deepEqual(await body(cached, p), built, `after ${step}, read again: ${what}`);
    assert.deepEqual(await body(parts, p), built, `after ${step}, from kept parts again: ${what}`);
  }
}

describe('read cache against fresh builds', () => {
  it('every kind of write shows exactly on the next read, whichever process wrote it', async () => {
    const c = cached.client();
    const other = fresh.client();
    const [ann, bob, cat] = [uid('ann'), uid('bob'), uid('cat')];
    const soup = uid('soup');
    await c.user(ann).create({ name: 'Ann' });
    await c.user(bob).create({ name: 'Bob' });
    await c.user(cat).create({ name: 'Cat' });
    await c.collections.add('food', soup, { name: 'soup' });
    const pages: Page[] = [
      { path: `feed/user/${ann}/` },
      { path: `feed/user/${bob}/`, query: { limit: '2' } },
      { path: `feed/timeline/${cat}/` },
      { path: `feed/timeline/${cat}/`, query: { limit: '1', offset: '1' } },
      { path: `enrich/feed/timeline/${cat}/`, query: ENRICH, as: cat },
      { path: `enrich/feed/timeline/${cat}/`, query: SHARED, as: cat },
      { path: `enrich/feed/user/${ann}/`, query: SHARED, as: cat },
      { path: `enrich/feed/user/${ann}/`, query: { ...SHARED, recentReactionsLimit: '1' } },
      { path: `feed/user/${ann}/`, query: { withRecentReactions: 'true', withReactionCounts: 'true' } },
      { path: `enrich/feed/aggregated/${cat}/`, query: SHARED, as: cat },
      { path: `feed/notification/${ann}/` },
      { path: `feed/ranked/${cat}/`, query: { ranking: 'popular' } },
    ];
    const check = (step: string) => same(pages, step);
    await check('nothing');

    // Feeds: posts, follows with copied history, posts that fan out and notify.
    const annFeed = c.feed('user', ann);
    const bobFeed = c.feed('user', bob);
    const a1 = await annFeed.addActivity({ actor: `SU:${ann}`, verb: 'eat', object: `SO:food:${soup}`, foreign_id: 'meal:1', time: '2026-01-01T00:00:00' } as any);
    await check('a post');
    await c.feed('timeline', cat).follow('user', ann);
    await c.feed('aggregated', cat).follow('user', ann);
    await c.feed('ranked', cat).follow('user', ann);
    await check('follows copying history');
    const b1 = await bobFeed.addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o', to: [`notification:${ann}`] } as any);
    await other.feed('timeline', cat).follow('user', bob);
    await other.feed('ranked', cat).follow('user', bob);
    await check('a post notifying and a follow by another process');
    const a2 = await annFeed.addActivity({ actor: `SU:${ann}`, verb: 'eat', object: `SO:food:${soup}`, foreign_id: 'meal:2', time: '2026-01-02T00:00:00', n: 1 } as any);
    await check('a post fanned out');

    // Activities: full update, partial update (set and unset), by another process too.
    await c.updateActivities([{ actor: `SU:${ann}`, verb: 'eat', object: `SO:food:${soup}`, foreign_id: 'meal:2', time: '2026-01-02T00:00:00', n: 2 } as any]);
    await check('an update');
    await c.activityPartialUpdate({ id: a2.id, set: { n: 3, extra: 'x' } });
    await check('a partial update');
    await other.activityPartialUpdate({ foreign_id: 'meal:2', time: '2026-01-02T00:00:00', unset: ['extra'] } as any);
    await check('a partial update by another process');

    // Reactions, children, their updates and deletes.
    const like = await c.reactions.add('like', a1.id, {}, { userId: cat });
    await check('a like');
    // An activity showing another one shows the reader's own reactions on that one too.
    await annFeed.addActivity({ actor: `SU:${ann}`, verb: 'quote', object: `SA:${a1.id}` } as any);
    await check('a post referencing a liked activity');
    const comment = await c.reactions.add('comment', a2.id, { text: 'yum' }, { userId: bob });
    await check('a comment');
    const reply = await c.reactions.addChild('comment', comment, { text: 'thanks' }, { userId: ann });
    await check('a child reaction');
    const childLike = await other.reactions.addChild('like', comment, {}, { userId: cat });
    await check('a child reaction by another process');
    await c.reactions.update(comment.id, { text: 'yummy' });
    await check('a reaction update');
    await c.reactions.update(reply.id, { text: 'thank you' });
    await check('a child reaction update');
    await c.reactions.delete(childLike.id);
    await check('a child reaction delete');
    await other.reactions.delete(like.id);
    await check('a reaction delete by another process');
    await c.reactions.add('like', b1.id, {}, { userId: cat });
    await check('a like on another feed');

    // Users and collection objects the enriched pages show.
    await c.user(ann).update({ name: 'Ann B.' });
    await check('a user update');
    await other.user(bob).update({ name: 'Robert' });
    await check('a user update by another process');
    await c.collections.update('food', soup, { name: 'stew' });
    await check('a collection update');
    await c.user(bob).delete();
    await check('a user delete');
    await c.collections.delete('food', soup);
    await check('a collection delete');
    await c.user(bob).create({ name: 'Bob again' });
    await c.collections.add('food', soup, { name: 'broth' });
    await check('a user and an object created again');

    // Notification marks (the reads that mark are built, never cached).
    assert.equal((await body(cached, { path: `feed/notification/${ann}/`, query: { mark_seen: 'true' } })).unseen, 1);
    await check('mark seen');
    await body(cached, { path: `feed/notification/${ann}/`, query: { mark_read: 'true' } });
    await check('mark read');
    await bobFeed.addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o2', to: [`notification:${ann}`] } as any);
    await check('a notification after the marks');

    // Personalization feedback hides an activity from one user's feeds, and shows it again.
    await c.personalization.post('feedback', {}, { user_id: cat, activity_id: a1.id, hide: true });
    await check('a hide');
    await other.personalization.post('feedback', {}, { user_id: cat, activity_id: a1.id, hide: false });
    await check('showing again, by another process');

    // Moderation: a flagged activity leaves the reads (hide_flagged).
    const flag = await rawRequest(cached, 'POST', 'moderation/flag/', { body: { entity_type: 'stream:feeds:v2:activity', entity_id: b1.id, user_id: cat, reason: 'spam' } });
    assert.equal(flag.status, 201, flag.text);
    await check('a flag');

    // Removals and unfollows.
    await annFeed.removeActivity(a1.id);
    await check('a removal by id');
    await other.feed('user', ann).removeActivity({ foreign_id: 'meal:2' } as any);
    await check('a removal by foreign id by another process');
    await c.feed('timeline', cat).unfollow('user', bob);
    await check('an unfollow');
  });

  it('a page made stale by a reaction is rebuilt from the kept entry list; a write of a feed it merges is not missed', async () => {
    const c = cached.client();
    const other = fresh.client();
    const [star, reader, ...fans] = [uid('star'), uid('rd'), uid('fan'), uid('fan'), uid('fan'), uid('fan')];
    const pal = uid('pal');
    for (const u of [star, reader, pal]) await c.user(u).create({ name: u });
    const starFeed = c.feed('user', star);
    const palFeed = c.feed('user', pal);
    const posted: string[] = [];
    for (let i = 0; i < 3; i++) posted.push((await starFeed.addActivity({ actor: `SU:${star}`, verb: 'post', object: `s${i}` })).id);
    await c.feed('timeline', reader).follow('user', star);
    await c.feed('timeline', reader).follow('user', pal);
    // Five followers: `star` becomes served by pull, merged into the reader's timeline on read.
    for (const f of fans) await c.feed('timeline', f).follow('user', star);
    assert.equal((await cached.rivulet.store.ports.follows.pullServed(cached.appId, [`user:${star}`])).has(`user:${star}`), true);
    await palFeed.addActivity({ actor: `SU:${pal}`, verb: 'post', object: 'p0' });
    const pages = (): Page[] => [
      { path: `feed/timeline/${reader}/` },
      { path: `feed/timeline/${reader}/`, query: { limit: '2' } },
      { path: `feed/timeline/${reader}/`, query: { limit: '2', id_lt: posted[posted.length - 1] } },
      { path: `feed/timeline/${reader}/`, query: { limit: '2', id_lte: posted[posted.length - 2] } },
      { path: `feed/timeline/${reader}/`, query: { limit: '2', offset: '1' } },
      { path: `enrich/feed/timeline/${reader}/`, query: SHARED, as: reader },
      { path: `enrich/feed/timeline/${reader}/`, query: { ...SHARED, limit: '2' }, as: reader },
      { path: `enrich/feed/user/${star}/`, query: SHARED, as: reader },
    ];
    await same(pages(), 'pull-served posts');

    // Reactions change no feed: the enriched pages of the server keeping parts (no page cache) are
    // rebuilt without scanning a feed, and are still exactly fresh builds.
    const scans = async () => {
      const m = parseExposition(await (await fetch(`${parts.baseUrl.replace(/\/api\/$/, '')}/metrics`)).text());
      return total(m, 'rivulet_store_call_duration_seconds_count', { method: 'timelines.scan' }) + total(m, 'rivulet_store_call_duration_seconds_count', { method: 'timelines.scanMany' });
    };
    const enriched: Page = { path: `enrich/feed/timeline/${reader}/`, query: SHARED, as: reader };
    await body(parts, enriched);
    const before = await scans();
    await c.reactions.add('like', posted[0], {}, { userId: reader });
    await other.reactions.add('comment', posted[1], { text: 'hi' }, { userId: fans[0] });
    assert.deepEqual(await body(parts, enriched), await body(fresh, enriched));
    assert.equal(await scans(), before, 'rebuilt after reactions without a scan');
    await same(pages(), 'reactions on merged activities');

    // Every write that changes the entries: the merged feed's own posts (by this process and
    // another), a post of a pushed feed, a hide and its undoing, a removal, an unfollow.
    posted.push((await starFeed.addActivity({ actor: `SU:${star}`, verb: 'post', object: 's3' })).id);
    assert.deepEqual(await body(parts, enriched), await body(fresh, enriched));
    assert.notEqual(await scans(), before, 'a post into a merged feed makes the reader scan again');
    await same(pages(), 'a post into a pull-served feed');
    posted.push((await other.feed('user', star).addActivity({ actor: `SU:${star}`, verb: 'post', object: 's4' })).id);
    await same(pages(), 'a post into a pull-served feed by another process');
    await palFeed.addActivity({ actor: `SU:${pal}`, verb: 'post', object: 'p1' });
    await same(pages(), 'a post of a pushed feed');
    await c.personalization.post('feedback', {}, { user_id: reader, activity_id: posted[3], hide: true });
    await same(pages(), 'a hide of a merged activity');
    await other.personalization.post('feedback', {}, { user_id: reader, activity_id: posted[3], hide: false });
    await same(pages(), 'showing it again, by another process');
    await other.feed('user', star).removeActivity(posted[2]);
    await same(pages(), 'a removal from a pull-served feed by another process');
    await c.feed('timeline', reader).unfollow('user', star);
    await same(pages(), 'an unfollow of the pull-served feed');
    await c.feed('timeline', reader).follow('user', star);
    await same(pages(), 'following it again');
  });

  it("a page rebuilt after the reader's own like reads the reader's own reactions with the liked activity's other reaction data", async () => {
    const c = cached.client();
    const [author, reader] = [uid('au'), uid('rd')];
    for (const u of [author, reader]) await c.user(u).create({ name: u });
    await c.feed('timeline', reader).follow('user', author);
    const posted: string[] = [];
    for (let i = 0; i < 3; i++) posted.push((await c.feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: `o${i}` })).id);
    const comment = await c.reactions.add('comment', posted[0], { text: 'first' }, { userId: reader });
    await c.reactions.addChild('like', comment, {}, { userId: author });
    const page: Page = { path: `enrich/feed/timeline/${reader}/`, query: SHARED, as: reader };
    const calls = async () => {
      const m = parseExposition(await (await fetch(`${parts.baseUrl.replace(/\/api\/$/, '')}/metrics`)).text());
      const n = (method: string) => total(m, 'rivulet_store_call_duration_seconds_count', { method });
      return { latest: n('reactions.latestReactions'), counts: n('reactions.reactionCounts'), users: n('users.getUsers') };
    };
    assert.deepEqual(await body(parts, page), await body(fresh, page));
    for (const [i, kind] of [[0, 'like'], [1, 'comment'], [0, 'like']] as const) {
      await c.reactions.add(kind, posted[i], { i }, { userId: reader });
      const before = await calls();
      assert.deepEqual(await body(parts, page), await body(fresh, page), `after the reader's ${kind}`);
      const after = await calls();
      // The liked activity's latest reactions, the reader's own, then their children level by level
      // (two levels below the reader's comment): one batch each, not one set for the activity's
      // reactions and another for the reader's; the users of all of them in one batch.
      assert.ok(after.latest - before.latest <= 4, `latest reactions read ${after.latest - before.latest} times`);
      assert.ok(after.counts - before.counts <= 3, `reaction counts read ${after.counts - before.counts} times`);
      assert.ok(after.users - before.users <= 1, `users read ${after.users - before.users} times`);
    }
    await same([page, { path: `enrich/feed/timeline/${reader}/`, query: ENRICH, as: reader }], "the reader's own reactions");
  });

  it('under concurrent writes and reads, every page ends as a fresh build', async () => {
    const c = cached.client();
    const users = [uid('w'), uid('w'), uid('w'), uid('w')];
    const reader = uid('r');
    for (const u of users) await c.user(u).create({ name: u });
    for (const u of users) await c.feed('timeline', reader).follow('user', u);
    const pages: Page[] = [
      { path: `feed/timeline/${reader}/` },
      { path: `enrich/feed/timeline/${reader}/`, query: ENRICH, as: reader },
      { path: `enrich/feed/timeline/${reader}/`, query: SHARED, as: reader },
      ...users.map((u) => ({ path: `enrich/feed/user/${u}/`, query: SHARED, as: users[0] })),
    ];
    const posted: string[] = [];
    for (const u of users) posted.push((await c.feed('user', u).addActivity({ actor: `SU:${u}`, verb: 'post', object: 'o' })).id);
    await same(pages, 'the first posts');
    // Writes of every kind through both servers, with reads of every page from the cached server
    // in between: a body built while a write landed must not be kept.
    const writers = [cached.client(), fresh.client(), parts.client()];
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const w = writers[i % writers.length];
      const u = users[i % users.length];
      const act = posted[(i * 7) % posted.length];
      switch (i % 5) {
        case 0:
          jobs.push(w.feed('user', u).addActivity({ actor: `SU:${u}`, verb: 'post', object: `o${i}` }).then((a) => posted.push(a.id)));
          break;
        case 1:
          jobs.push(w.reactions.add(i % 2 ? 'like' : 'comment', act, { i }, { userId: users[(i + 1) % users.length] }));
          break;
        case 2:
          jobs.push(w.user(u).update({ name: `${u}-${i}` }));
          break;
        case 3:
          jobs.push(w.activityPartialUpdate({ id: act, set: { i } }));
          break;
        case 4:
          jobs.push(w.reactions.add('like', act, {}, { userId: reader }));
          break;
      }
      if (i % 2 === 0) for (const p of pages) jobs.push(body(cached, p), body(parts, p));
    }
    await Promise.all(jobs);
    await same(pages, 'concurrent writes');
  });

  it("a process alone takes its own writes' change marks from their acknowledgements; another process's writes are still read from the log", async () => {
    // A server alone on its file: after its own commits its caches take the change marks from the
    // writer thread's acknowledgement instead of reading them. A server that builds every answer
    // anew is started on the file only to check each step (it comes and goes, as a process may),
    // and another writes beside it for a while.
    const config = { moderation: { hide_flagged: true } };
    const solo = await startServer({ groups: GROUPS, config });
    const same = { groups: GROUPS, dataDir: solo.dataDir, app: { appId: solo.appId, apiKey: solo.apiKey, apiSecret: solo.apiSecret } };
    // Counted where the store has them (SQLite; a networked store reads the marks every time).
    const marks = solo.rivulet.store.changes as unknown as { known?(after: number): unknown };
    const knownOf = marks.known?.bind(marks);
    let known = 0;
    if (knownOf !== undefined) {
      marks.known = (after: number) => {
        const c = knownOf(after);
        if (c !== null) known++;
        return c;
      };
    }
    try {
      const c = solo.client();
      const [ann, bob, cat] = [uid('ann'), uid('bob'), uid('cat')];
      const soup = uid('soup');
      for (const u of [ann, bob, cat]) await c.user(u).create({ name: u });
      await c.collections.add('food', soup, { name: 'soup' });
      await c.feed('timeline', cat).follow('user', ann);
      await c.feed('timeline', cat).follow('user', bob);
      const pages: Page[] = [
        { path: `feed/user/${ann}/` },
        { path: `feed/timeline/${cat}/` },
        { path: `enrich/feed/timeline/${cat}/`, query: ENRICH, as: cat },
        { path: `enrich/feed/timeline/${cat}/`, query: SHARED, as: cat },
        { path: `enrich/feed/user/${ann}/`, query: SHARED, as: bob },
      ];
      // Read twice on the server alone (the second from its caches), then compared with a fresh build.
      const check = async (step: string) => {
        const mine: Json[] = [];
        for (const p of pages) {
          await body(solo, p);
          mine.push(await body(solo, p));
        }
        const fresh = await startServer({ ...same, config: { ...config, read_cache: { max_mb: 0, parts_mb: 0 } } });
        try {
          for (let i = 0; i < pages.length; i++) assert.deepEqual(mine[i], await body(fresh, pages[i]), `after ${step}: ${pages[i].path} ${JSON.stringify(pages[i].query ?? {})}`);
        } finally {
          await fresh.close();
        }
        // Gone: the server alone notices within the writers check.
        await new Promise((r) => setTimeout(r, 300));
      };
      const a1 = await c.feed('user', ann).addActivity({ actor: `SU:${ann}`, verb: 'eat', object: `SO:food:${soup}` } as any);
      await check('a post');
      const b1 = await c.feed('user', bob).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o' } as any);
      await c.reactions.add('like', a1.id, {}, { userId: cat });
      await check('a post and a like');
      const before = known;
      const comment = await c.reactions.add('comment', a1.id, { text: 'yum' }, { userId: bob });
      for (const p of pages) await body(solo, p);
      await c.user(ann).update({ name: 'Ann B.' });
      for (const p of pages) await body(solo, p);
      if (knownOf !== undefined) assert.ok(known > before, 'the marks of its own writes were taken from their acknowledgements');
      await check('a comment and a user update');

      // Another process (building every answer anew) writes while this one writes and reads.
      const other = await startServer({ ...same, config: { ...config, read_cache: { max_mb: 0, parts_mb: 0 } } });
      const besideOther = async (step: string) => {
        for (const p of pages) {
          const built = await body(other, p);
          assert.deepEqual(await body(solo, p), built, `after ${step}: ${p.path} ${JSON.stringify(p.query ?? {})}`);
          assert.deepEqual(await body(solo, p), built, `after ${step}, read again: ${p.path} ${JSON.stringify(p.query ?? {})}`);
        }
      };
      try {
        const o = other.client();
        const jobs: Promise<unknown>[] = [];
        for (let i = 0; i < 12; i++) {
          const w = i % 2 === 0 ? c : o;
          if (i % 4 === 0) jobs.push(w.feed('user', ann).addActivity({ actor: `SU:${ann}`, verb: 'post', object: `p${i}` }));
          else if (i % 4 === 1) jobs.push(w.reactions.add('like', b1.id, { i }, { userId: cat }));
          else if (i % 4 === 2) jobs.push(w.user(bob).update({ name: `Bob ${i}` }));
          else jobs.push(w.collections.update('food', soup, { name: `soup ${i}` }));
          for (const p of pages) jobs.push(body(solo, p));
        }
        await Promise.all(jobs);
        await besideOther('concurrent writes of both');
        await c.reactions.add('like', a1.id, {}, { userId: bob });
        await o.reactions.update(comment.id, { text: 'yummy' });
        await besideOther("a write of its own, then the other's");
        await o.user(ann).update({ name: 'Ann C.' });
        await besideOther("the other's user update");
      } finally {
        await other.close();
      }
      await new Promise((r) => setTimeout(r, 300));
      // Alone again: its next write's acknowledgement brings the other's marks too.
      await c.reactions.add('like', a1.id, {}, { userId: ann });
      await check("the other process's writes, then one of its own");
      await c.feed('user', ann).removeActivity(a1.id);
      await check('a removal');
    } finally {
      await solo.close();
    }
  });
});
