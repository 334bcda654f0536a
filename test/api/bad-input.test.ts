/**
 * Bad input on the activity and flat-feed endpoints: every refusal has Stream's error body
 * (stream-v2-api.md §3, §23.1-§23.2), changes nothing, and nothing ever answers 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertRawError, expectApiError, readAll } from './activity-helpers.js';

let t: TestServer;

before(async () => {
  t = await startServer();
});
after(async () => t.close());

function feed(slug: string, id: string): any {
  return t.client().feed(slug, id);
}

function server(): any {
  return t.client();
}

function act(n: number | string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { actor: 'SU:alice', verb: 'post', object: `SO:post:${n}`, ...extra };
}

/**
 * A small world that every test snapshots before and compares after: a user feed with a `to`
 * target and a follower, holding activities with foreign ids.
 */
interface World {
  user: string;
  target: string;
  follower: string;
  seeded: any[];
}

async function makeWorld(): Promise<World> {
  const w = { user: uid('bad'), target: uid('tgt'), follower: uid('fol'), seeded: [] as any[] };
  await feed('timeline', w.follower).follow('user', w.user);
  const res = await feed('user', w.user).addActivities([
    act(1, { foreign_id: 'seed:1', time: '2024-05-01T10:00:00.000001', to: [`flat:${w.target}`] }),
    act(2, { foreign_id: 'seed:2', time: '2024-05-01T10:00:00.000002', data: { n: 1 } }),
  ]);
  w.seeded = res.activities;
  return w;
}

async function snapshot(w: World): Promise<unknown> {
  return {
    user: await readAll(t, 'user', w.user),
    target: await readAll(t, 'flat', w.target),
    follower: await readAll(t, 'timeline', w.follower),
  };
}

describe('bad input', () => {
  let w: World;
  let snap: unknown;

  beforeEach(async () => {
    w = await makeWorld();
    snap = await snapshot(w);
  });

  /** Asserts the world is exactly as seeded. */
  async function unchanged(): Promise<void> {
    assert.deepEqual(await snapshot(w), snap, 'the failed request changed data');
  }

  describe('add activity bodies', () => {
    it('malformed JSON is 400/4', async () => {
      for (const body of ['{"actor":', '{actor: "x"}', "{'a': 1}", '{"a":1}}', 'nul', '\u0000']) {
        const res = await rawRequest(t, 'POST', `feed/user/${w.user}/`, { body });
        assertRawError(res, 400, 4, 'InputException');
      }
      await unchanged();
    });

    it('a body that is not an object is 400/4', async () => {
      for (const body of ['[1,2]', '"text"', 'null', '42', 'true', '']) {
        const res = await rawRequest(t, 'POST', `feed/user/${w.user}/`, { body });
        assertRawError(res, 400, 4, 'InputException');
      }
      const res = await rawRequest(t, 'POST', `feed/user/${w.user}/`, { body: { activities: 'abc' } });
      assertRawError(res, 400, 4, 'InputException');
      const res2 = await rawRequest(t, 'POST', `feed/user/${w.user}/`, { body: { activities: [1] } });
      assertRawError(res2, 400, 4, 'InputException');
      await unchanged();
    });

    it('missing actor, verb or object, or an empty one, is 400/4', async () => {
      const f = feed('user', w.user);
      await expectApiError(f.addActivity({ verb: 'post', object: 'o' }), 400, 4, 'InputException');
      await expectApiError(f.addActivity({ actor: 'a', object: 'o' }), 400, 4, 'InputException');
      await expectApiError(f.addActivity({ actor: 'a', verb: 'post' }), 400, 4, 'InputException');
      await expectApiError(f.addActivity({ actor: 'a', verb: 'post', object: '' }), 400, 4, 'InputException');
      await expectApiError(f.addActivity({ actor: '', verb: 'post', object: 'o' }), 400, 4, 'InputException');
      await expectApiError(f.addActivity({ actor: 'a', verb: '', object: 'o' }), 400, 4, 'InputException');
      await expectApiError(f.addActivity({ actor: null, verb: 'post', object: 'o' }), 400, 4, 'InputException');
      await expectApiError(f.addActivity({}), 400, 4, 'InputException');
      await unchanged();
    });

    it('wrong types for the core fields are 400/4', async () => {
      const f = feed('user', w.user);
      const bad: Record<string, unknown>[] = [
        { actor: { id: 'x' } },
        { actor: ['a'] },
        { actor: true },
        { verb: false },
        { object: { a: 1 } },
        { object: [] },
        { target: ['x'] },
        { target: true },
        { foreign_id: { a: 1 } },
        { foreign_id: [1] },
        { foreign_id: true },
        { time: 1714557600 },
        { time: true },
        { time: { a: 1 } },
      ];
      for (const fields of bad) {
        const res = await rawRequest(t, 'POST', `feed/user/${w.user}/`, { body: { ...act(1), ...fields } });
        assertRawError(res, 400, 4, 'InputException');
      }
      // A number too large for a double is not a usable verb.
      const inf = await rawRequest(t, 'POST', `feed/user/${w.user}/`, { body: '{"actor":"a","verb":1e400,"object":"o"}' });
      assertRawError(inf, 400, 4, 'InputException');
      await expectApiError(f.addActivity(act(1, { verb: 'v'.repeat(256) })), 400, 4, 'InputException');
      await expectApiError(f.addActivity(act(1, { foreign_id: 'é'.repeat(128) })), 400, 4, 'InputException');
      await unchanged();
    });

    it('reserved enrichment keys cannot be stored as custom data (400/4)', async () => {
      for (const key of ['own_reactions', 'latest_reactions', 'reaction_counts', 'own_reactions_extra']) {
        await expectApiError(feed('user', w.user).addActivity(act(1, { [key]: 1 })), 400, 4, 'InputException');
      }
      // `__proto__` cannot be stored as an ordinary field, so it is refused rather than dropped.
      const proto = await rawRequest(t, 'POST', `feed/user/${w.user}/`, { body: '{"actor":"a","verb":"v","object":"o","__proto__":{"x":1}}' });
      assertRawError(proto, 400, 4, 'InputException');
      await unchanged();
    });

    it('a bad time is 400/4', async () => {
      const f = feed('user', w.user);
      for (const time of ['aap', '2024-13-01T00:00:00', '2024-02-30T10:00:00', '2024-05-01T25:00:00', '01/05/2024', '', '2024-05-01T10:00:00+25:00']) {
        await expectApiError(f.addActivity(act(1, { time })), 400, 4, 'InputException');
      }
      await unchanged();
    });

    it('`to` must be an array of feed ids of configured groups (400/4)', async () => {
      const f = feed('user', w.user);
      for (const to of ['abc', { a: 'user:x' }, 5, [5], [null], ['nocolon'], [':x'], ['user:'], ['user:bad|id'], ['us-er:x'], ['to:something'], ['user:ok', 'nope:x']]) {
        await expectApiError(f.addActivity(act(1, { to })), 400, 4, 'InputException');
      }
      const many = Array.from({ length: 101 }, (_, i) => `flat:t${i}`);
      await expectApiError(f.addActivity(act(1, { to: many })), 400, 4, 'InputException');
      await unchanged();
      assert.deepEqual(await readAll(t, 'flat', 'ok'), []);
    });

    it('an activity over 10 KB is 400/4; one just under is fine', async () => {
      const f = feed('user', uid());
      await expectApiError(f.addActivity(act(1, { blob: 'x'.repeat(10_300) })), 400, 4, 'InputException');
      await expectApiError(f.addActivity(act(1, { blob: 'é'.repeat(5_200) })), 400, 4, 'InputException');
      await expectApiError(feed('user', w.user).addActivities([act(1), act(2, { blob: 'x'.repeat(10_300) })]), 400, 4, 'InputException');
      const ok = await f.addActivity(act(1, { blob: 'x'.repeat(9_500) }));
      assert.equal(ok.blob.length, 9_500);
      await unchanged();
    });

    it('a body over 1 MiB is 413/18', async () => {
      const body = JSON.stringify({ activities: [act(1, { blob: 'x'.repeat(1024 * 1024 + 10) })] });
      const res = await rawRequest(t, 'POST', `feed/user/${w.user}/`, { body });
      assertRawError(res, 413, 18, 'PayloadTooLarge');
      await unchanged();
    });

    it('a batch with one invalid item is 400/4 naming its index, and nothing is written', async () => {
      const f = feed('user', w.user);
      const cases: Record<string, unknown>[] = [
        { verb: undefined },
        { object: '' },
        { to: 'abc' },
        { to: ['nope:x'] },
        { time: 'aap' },
        { blob: 'x'.repeat(10_300) },
      ];
      for (const bad of cases) {
        const items = [act(1, { to: [`flat:${w.target}`] }), act(2, { foreign_id: 'seed:9' }), act(3, bad), act(4)];
        const { body } = await expectApiError(f.addActivities(items), 400, 4, 'InputException');
        assert.match(body.detail, /\b2\b/, `detail names index 2: ${body.detail}`);
        assert.doesNotMatch(body.detail, /\b[13]\b/, `detail names only index 2: ${body.detail}`);
      }
      await unchanged();
    });

    it('more than 100 activities in a batch is 400/4', async () => {
      const items = Array.from({ length: 101 }, (_, i) => act(i));
      await expectApiError(feed('user', w.user).addActivities(items), 400, 4, 'InputException');
      await unchanged();
    });

    it('odd input never answers 5xx', async () => {
      const u = uid();
      const bodies = [
        '{"actor":"\\ud800","verb":"v","object":"o"}',
        '{"actor":"a","verb":"v","object":"o","n":1e400}',
        '{"actor":"a","verb":"v","object":"o","constructor":{"prototype":1}}',
        `{"actor":"a","verb":"v","object":"o","deep":${'['.repeat(4000)}${']'.repeat(4000)}}`,
        `{"actor":"a","verb":"v","object":"o","deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
        `{"actor":"a","verb":"v","object":"o","deep":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      ];
      for (const body of bodies) {
        const res = await rawRequest(t, 'POST', `feed/user/${u}/`, { body });
        assert.ok(res.status < 500, `${body.slice(0, 80)} answered ${res.status} ${res.text.slice(0, 200)}`);
        if (res.status >= 400) assertRawError(res, res.status, res.body.code);
      }
    });
  });

  describe('feed paths', () => {
    it('an unknown feed group in the path is 400/6', async () => {
      const f = feed('nope', w.user);
      await expectApiError(f.addActivity(act(1)), 400, 6, 'FeedConfigException');
      await expectApiError(f.get(), 400, 6, 'FeedConfigException');
      await expectApiError(f.removeActivity(w.seeded[0].id), 400, 6, 'FeedConfigException');
      await expectApiError(f.updateActivityToTargets('seed:1', w.seeded[0].time, ['flat:x']), 400, 6, 'FeedConfigException');
      await unchanged();
    });

    it('illegal feed ids in the path are 400/4', async () => {
      const paths = [
        `feed/user/bad|id/`,
        `feed/user/a%20b/`,
        `feed/user/${'x'.repeat(256)}/`,
        `feed/us-er/${w.user}/`,
        `feed/${'s'.repeat(65)}/${w.user}/`,
        `feed/user/%C3%A9/`,
      ];
      assertRawError(await rawRequest(t, 'GET', 'enrich/feed/user/bad.id/'), 400, 4, 'InputException');
      for (const path of paths) {
        assertRawError(await rawRequest(t, 'GET', path), 400, 4, 'InputException');
        assertRawError(await rawRequest(t, 'POST', path, { body: act(1) }), 400, 4, 'InputException');
        assertRawError(await rawRequest(t, 'DELETE', `${path}${w.seeded[0].id}/`), 400, 4, 'InputException');
      }
      assertRawError(
        await rawRequest(t, 'POST', 'feed_targets/user/bad|id/activity_to_targets/', { body: { foreign_id: 'seed:1', time: w.seeded[0].time, new_targets: [] } }),
        400,
        4,
        'InputException',
      );
      await unchanged();
    });

    it('a path that cannot be decoded, or a segment beyond any id length, is 400/4', async () => {
      assertRawError(await rawRequest(t, 'GET', 'feed/user/%ZZ/'), 400, 4, 'InputException');
      assertRawError(await rawRequest(t, 'DELETE', `feed/user/${w.user}/%E0%A4%A/`, { query: { foreign_id: '1' } }), 400, 4, 'InputException');
      assertRawError(await rawRequest(t, 'GET', `feed/user/${'x'.repeat(2000)}/`), 400, 4, 'InputException');
      assertRawError(await rawRequest(t, 'DELETE', `feed/user/${w.user}/${'x'.repeat(2000)}/`), 400, 4, 'InputException');
      await unchanged();
    });

    it('an unknown route is 404/16', async () => {
      assertRawError(await rawRequest(t, 'GET', `nothing/here/`), 404, 16, 'DoesNotExistException');
      assertRawError(await rawRequest(t, 'POST', `feed/user/`, { body: act(1) }), 404, 16, 'DoesNotExistException');
      await unchanged();
    });

    it('an unknown route is 404/16 whatever the body and its content type', async () => {
      const form = new FormData();
      form.append('file', new Blob(['not json at all']), 'x.bin');
      const url = new URL(`${t.baseUrl}v1.0/nothing/here/`);
      url.searchParams.set('api_key', t.apiKey);
      const multipart = await fetch(url, { method: 'POST', headers: { authorization: t.client().getOrCreateToken() }, body: form });
      const text = await multipart.text();
      assertRawError({ status: multipart.status, body: JSON.parse(text), text }, 404, 16, 'DoesNotExistException');
      for (const type of ['application/octet-stream', 'text/plain', 'image/png', 'application/json']) {
        const res = await rawRequest(t, 'POST', 'nothing/here/', { body: '\u0000{{ not json', headers: { 'content-type': type } });
        assertRawError(res, 404, 16, 'DoesNotExistException');
      }
      const put = await rawRequest(t, 'PUT', `feed/user/${w.user}/`, { body: '<<binary>>', headers: { 'content-type': 'application/octet-stream' } });
      assertRawError(put, 405, 17, 'MethodNotAllowed');
      await unchanged();
    });

    it('a known path with the wrong method is 405/17', async () => {
      assertRawError(await rawRequest(t, 'PUT', `feed/user/${w.user}/`, { body: act(1) }), 405, 17, 'MethodNotAllowed');
      assertRawError(await rawRequest(t, 'PATCH', 'activities/', { body: {} }), 405, 17, 'MethodNotAllowed');
      assertRawError(await rawRequest(t, 'GET', 'feed/add_to_many/'), 405, 17, 'MethodNotAllowed');
      assertRawError(await rawRequest(t, 'DELETE', 'activity/'), 405, 17, 'MethodNotAllowed');
      await unchanged();
    });
  });

  describe('feed reads', () => {
    it('a non-numeric or negative limit is 400/4', async () => {
      const f = feed('user', w.user);
      for (const limit of ['abc', '-1', '1.5', '1e2', '0x10', ' ', '10abc']) {
        await expectApiError(f.get({ limit }), 400, 4, 'InputException');
      }
    });

    it('an offset above 10,000 or not a number is 400/4; 10,000 itself is fine', async () => {
      const f = feed('user', w.user);
      await expectApiError(f.get({ offset: 10_001 }), 400, 4, 'InputException');
      await expectApiError(f.get({ offset: '99999999999999999999' }), 400, 4, 'InputException');
      await expectApiError(f.get({ offset: -1 }), 400, 4, 'InputException');
      await expectApiError(f.get({ offset: 'x' }), 400, 4, 'InputException');
      const ok = await f.get({ offset: 10_000 });
      assert.deepEqual(ok.results, []);
      assert.equal(ok.next, '');
    });

    it('a bad id_lt / id_lte / id_gt / id_gte is 400/4', async () => {
      const f = feed('user', w.user);
      for (const key of ['id_lt', 'id_lte', 'id_gt', 'id_gte']) {
        for (const value of ['abc', '123', `${w.seeded[0].id}x`, 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']) {
          await expectApiError(f.get({ [key]: value }), 400, 4, 'InputException');
        }
      }
    });

    it('repeated paging parameters never answer 5xx', async () => {
      const id = w.seeded[0].id;
      for (const q of [`id_lt=${id}&id_lt=${id}`, 'limit=1&limit=2', `id_gte=${id}&id_gte=x`, 'offset=1&offset=2', 'ranking=a&ranking=b']) {
        const res = await fetch(`${t.baseUrl}v1.0/feed/user/${w.user}/?api_key=${t.apiKey}&${q}`, {
          headers: { authorization: t.client().getOrCreateToken() },
        });
        const text = await res.text();
        assert.ok(res.status < 500, `${q}: ${res.status} ${text}`);
        if (res.status >= 400) assertRawError({ status: res.status, body: JSON.parse(text), text }, res.status, JSON.parse(text).code);
      }
    });

    it('invalid rankingVars is 400/4 even on an unranked flat feed', async () => {
      const f = feed('user', w.user);
      await expectApiError(f.get({ rankingVars: '["popular",1]' }), 400, 4, 'InputException');
      await expectApiError(f.get({ rankingVars: 'not json' }), 400, 4, 'InputException');
      await expectApiError(f.get({ rankingVars: '1' }), 400, 4, 'InputException');
      await expectApiError(f.get({ rankingVars: 'null' }), 400, 4, 'InputException');
      await expectApiError(f.get({ rankingVars: ['popular', 1] }), 400, 4, 'InputException');
      assertRawError(await rawRequest(t, 'GET', `feed/user/${w.user}/`, { query: { 'rankingVars[]': 'x' } }), 400, 4, 'InputException');
      assertRawError(await rawRequest(t, 'GET', `feed/user/${w.user}/`, { query: { ranking_vars: '[1]' } }), 400, 4, 'InputException');
      assertRawError(await rawRequest(t, 'GET', `enrich/feed/user/${w.user}/`, { query: { rankingVars: '[1]' } }), 400, 4, 'InputException');
      // Valid forms are accepted and ignored on an unranked feed.
      assert.equal((await f.get({ rankingVars: '{"popular":1}' })).results.length, 2);
      assert.equal((await f.get({ rankingVars: { popular: 1 } })).results.length, 2);
    });

    it('ranking= on a group without ranking is 400/12', async () => {
      await expectApiError(feed('user', w.user).get({ ranking: 'popular' }), 400, 12, 'MissingRankingException');
      await expectApiError(feed('user', w.user).get({ ranking: 'x', enrich: true }), 400, 12, 'MissingRankingException');
    });

    it('a bad foreign_id flag on remove is 400/4 and removes nothing', async () => {
      const res = await rawRequest(t, 'DELETE', `feed/user/${w.user}/seed:1/`, { query: { foreign_id: 'maybe' } });
      assertRawError(res, 400, 4, 'InputException');
      await unchanged();
    });
  });

  describe('get activities', () => {
    it('missing or malformed ids / foreign ids are 400/4', async () => {
      const id = w.seeded[0].id;
      const queries: Record<string, string>[] = [
        {},
        { ids: '' },
        { ids: 'abc' },
        { ids: `${id},abc` },
        { foreign_ids: 'seed:1' },
        { timestamps: w.seeded[0].time },
        { foreign_ids: 'seed:1,seed:2', timestamps: w.seeded[0].time },
        { foreign_ids: 'seed:1', timestamps: 'aap' },
        { ids: Array.from({ length: 101 }, () => id).join(',') },
      ];
      for (const query of queries) {
        const res = await rawRequest(t, 'GET', 'activities/', { query, token: t.client().getOrCreateToken() });
        assertRawError(res, 400, 4, 'InputException');
      }
      await expectApiError(server().getActivities({ ids: ['abc'] }), 400, 4, 'InputException');
      await expectApiError(server().getActivities({ foreignIDTimes: [{ foreign_id: 'seed:1', time: 'aap' }] }), 400, 4, 'InputException');
      assertRawError(await rawRequest(t, 'GET', 'activities/', { query: { rankingVars: '[1]', ids: id } }), 400, 4, 'InputException');
    });
  });

  describe('full update', () => {
    it('malformed bodies are 400/4 and change nothing', async () => {
      const base = { ...act(9), foreign_id: 'seed:2', time: w.seeded[1].time };
      for (const body of [{}, { activities: 'x' }, { activities: [1] }, { activities: [null] }, [base]]) {
        assertRawError(await rawRequest(t, 'POST', 'activities/', { body }), 400, 4, 'InputException');
      }
      assertRawError(await rawRequest(t, 'POST', 'activities/', { body: '{"activities":[' }), 400, 4, 'InputException');
      const items = Array.from({ length: 101 }, () => base);
      await expectApiError(server().updateActivities(items), 400, 4, 'InputException');
      await expectApiError(server().updateActivities([{ ...base, actor: { id: 1 } }]), 400, 4, 'InputException');
      await expectApiError(server().updateActivities([{ ...base, to: 'abc' }]), 400, 4, 'InputException');
      await expectApiError(server().updateActivities([{ ...base, own_reactions: {} }]), 400, 4, 'InputException');
      await expectApiError(server().updateActivities([{ ...base, blob: 'x'.repeat(10_300) }]), 400, 4, 'InputException');
      await unchanged();
    });

    it('a batch with one invalid item names its index and writes nothing', async () => {
      const good = { ...act(9), foreign_id: 'seed:2', time: w.seeded[1].time };
      const { body } = await expectApiError(
        server().updateActivities([good, { ...good, foreign_id: 'seed:1', time: w.seeded[0].time, verb: '' }]),
        400,
        4,
        'InputException',
      );
      assert.match(body.detail, /\b1\b/);
      await unchanged();
    });
  });

  describe('partial update', () => {
    it('malformed changes are 400/4 and change nothing', async () => {
      const id = w.seeded[1].id;
      const bodies: (string | object)[] = [
        { changes: 'x' },
        { changes: [1] },
        { changes: [{ set: { a: 1 } }] },
        { changes: [{ id: 'abc', set: { a: 1 } }] },
        { changes: [{ id: 5, set: { a: 1 } }] },
        { changes: [{ id, set: 'x' }] },
        { changes: [{ id, set: [1] }] },
        { changes: [{ id, unset: 'a' }] },
        { changes: [{ id, unset: [1] }] },
        { changes: [{ id, set: { '': 1 } }] },
        { changes: [{ id, set: { 'a..b': 1 } }] },
        { changes: [{ id, set: { '__proto__.x': 1 } }] },
        { changes: [{ id, set: { own_reactions: 1 } }] },
        { changes: [{ foreign_id: 'seed:2' }] },
        { changes: [{ foreign_id: 'seed:2', time: 'aap' }] },
        { changes: [{ id, set: { data: 'ok' } }, { id, set: { time: 'x' } }] },
        { changes: Array.from({ length: 101 }, () => ({ id, set: { a: 1 } })) },
      ];
      for (const body of bodies) {
        const res = await rawRequest(t, 'POST', 'activity/', { body });
        assertRawError(res, 400, 4, 'InputException');
      }
      await unchanged();
    });

    it('a change that makes the activity too large is 400/4', async () => {
      await expectApiError(
        server().activityPartialUpdate({ id: w.seeded[1].id, set: { blob: 'x'.repeat(10_300) } }),
        400,
        4,
        'InputException',
      );
      await unchanged();
    });
  });

  describe('to-target updates', () => {
    it('malformed requests are 400/4 and change nothing', async () => {
      const path = `feed_targets/user/${w.user}/activity_to_targets/`;
      const time = w.seeded[0].time;
      const bodies: (string | object)[] = [
        {},
        { time, new_targets: [] },
        { foreign_id: 'seed:1', new_targets: [] },
        { foreign_id: 'seed:1', time },
        { foreign_id: 'seed:1', time, new_targets: 'flat:x' },
        { foreign_id: 'seed:1', time, new_targets: ['flat:x'], added_targets: ['flat:y'] },
        { foreign_id: 'seed:1', time, added_targets: ['flat:y'], removed_targets: ['flat:y'] },
        { foreign_id: 'seed:1', time, added_targets: ['bad'] },
        { foreign_id: 'seed:1', time, added_targets: ['flat:bad|id'] },
        { foreign_id: 'seed:1', time, new_targets: Array.from({ length: 101 }, (_, i) => `flat:n${i}`) },
        [],
        'x',
      ];
      for (const body of bodies) {
        const res = await rawRequest(t, 'POST', path, { body: typeof body === 'string' ? JSON.stringify(body) : body });
        assertRawError(res, 400, 4, 'InputException');
      }
      // A batch whose second item names an unknown activity applies none of its items.
      const batch = [
        { foreign_id: 'seed:2', time: w.seeded[1].time, added_targets: [`flat:${uid()}`] },
        { foreign_id: 'seed:unknown', time, new_targets: [] },
      ];
      assertRawError(await rawRequest(t, 'POST', path, { body: batch }), 404, 16, 'DoesNotExistException');
      await unchanged();
    });
  });

  describe('add to many', () => {
    it('malformed requests are 400/4 and write nothing', async () => {
      const target = uid();
      const bodies: (string | object)[] = [
        {},
        { activity: act(1) },
        { activity: act(1), feeds: `flat:${target}` },
        { activity: act(1), feeds: [] },
        { activity: act(1), feeds: [`flat:${target}`, 'nope:x'] },
        { activity: act(1), feeds: [`flat:${target}`, 'flat:bad|id'] },
        { activity: act(1), feeds: [`flat:${target}`, 5] },
        { activity: { verb: 'v', object: 'o' }, feeds: [`flat:${target}`] },
        { activity: act(1, { to: [`flat:${uid()}`] }), feeds: [`flat:${target}`] },
        { activity: act(1, { to: 'abc' }), feeds: [`flat:${target}`] },
        { activity: 'x', feeds: [`flat:${target}`] },
      ];
      for (const body of bodies) {
        const res = await rawRequest(t, 'POST', 'feed/add_to_many/', { body });
        assertRawError(res, 400, 4, 'InputException');
      }
      assert.deepEqual(await readAll(t, 'flat', target), []);
      await unchanged();
    });
  });
});
