// Requests exactly as Stream's other official server clients build them (Python, PHP, Ruby, Go,
// Java, .NET): header names, body encodings, query forms, time formats, signed targets. Raw HTTP,
// since the getstream JavaScript client sends none of these forms. docs/api-decisions.md lists
// each habit ("Other official clients").
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createSigner } from 'fast-jwt';
import { readResponse, startServer, uid, type TestServer } from '../support/server.js';
import { assertRawError, readAll } from './activity-helpers.js';

let t: TestServer;

before(async () => {
  t = await startServer({
    groups: [
      { name: 'user', type: 'flat' },
      { name: 'timeline', type: 'flat' },
      { name: 'notification', type: 'notification' },
      { name: 'popular', type: 'flat', ranking: { likes: { score: 'likes + 1', defaults: { likes: 0 } } } },
    ],
  });
});
after(async () => t.close());

/** Sends a request as a client library does: the query string and headers exactly as given. */
async function send(method: string, path: string, opts: { query?: string; headers?: Record<string, string>; body?: string } = {}) {
  const q = `api_key=${t.apiKey}${opts.query ? '&' + opts.query : ''}`;
  const res = await fetch(`${t.baseUrl}v1.0/${path}?${q}`, { method, headers: opts.headers ?? {}, body: opts.body });
  return readResponse(res);
}

/** An HS256 token over `claims`, signed with this app's secret unless `secret` is given. */
function jwt(claims: Record<string, unknown>, secret = t.apiSecret): string {
  return createSigner({ key: secret, algorithm: 'HS256', noTimestamp: true })(claims);
}

/** A server token as every client makes it: `{resource, action, feed_id}`. */
function scope(resource: string, action: string, feedId = '*'): string {
  return jwt({ action, resource, feed_id: feedId });
}

/** The older feed signature (PHP's `Signer::signature`): HMAC-SHA1 keyed with SHA-1 of the secret. */
function legacySignature(slugAndUser: string, secret = t.apiSecret): string {
  return createHmac('sha1', createHash('sha1').update(secret).digest()).update(slugAndUser).digest('base64url');
}

const json = (auth: string, client: string): Record<string, string> => ({
  Authorization: auth,
  'stream-auth-type': 'jwt',
  'Content-Type': 'application/json',
  'X-Stream-Client': client,
});

async function feedIds(slug: string, user: string): Promise<string[]> {
  return (await readAll(t, slug, user)).map((a) => a.id);
}

describe('Python client (stream-python 5.3.1)', () => {
  const py = (auth: string) => json(auth, 'stream-python-client-5.3.1');
  // Feed.token: what add_to_signature puts after each target.
  const feedToken = () => scope('feed', '*');

  it('signed `to` targets are verified; only plain feed ids are stored and returned', async () => {
    const [a, b, c] = [uid('a'), uid('b'), uid('c')];
    const body = { actor: `user:${a}`, verb: 'tweet', object: 'tweet:1', to: [`user:${b} ${feedToken()}`, `notification:${c} ${feedToken()}`] };
    const res = await send('POST', `feed/user/${a}/`, { headers: py(scope('feed', 'write', `user${a}`)), body: JSON.stringify(body) });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.to, [`user:${b}`, `notification:${c}`]);
    const [inB] = await readAll(t, 'user', b);
    assert.equal(inB.id, res.body.id);
    assert.deepEqual(inB.to, [`user:${b}`, `notification:${c}`]);
    const notif = await send('GET', `feed/notification/${c}/`, { headers: py(scope('feed', 'read', `notification${c}`)) });
    assert.equal(notif.body.results[0].activities[0].id, res.body.id);
    // add_activities: each activity's targets signed the same way.
    const many = {
      activities: [
        { actor: 'a', verb: 'v', object: 'o:1', to: [`user:${b} ${feedToken()}`] },
        { actor: 'a', verb: 'v', object: 'o:2', to: [`user:${c} ${scope('feed', 'write', `user${c}`)}`] },
      ],
    };
    const batch = await send('POST', `feed/user/${a}/`, { headers: py(scope('feed', 'write', `user${a}`)), body: JSON.stringify(many) });
    assert.equal(batch.status, 201, batch.text);
    assert.deepEqual(batch.body.activities.map((x: any) => x.to), [[`user:${b}`], [`user:${c}`]]);
    assert.deepEqual(await feedIds('user', c), [batch.body.activities[1].id]);
  });

  it('a bad target token is 403 naming the target, and nothing is written', async () => {
    const [a, b] = [uid('a'), uid('b')];
    const bad = [
      scope('feed', '*', '*').slice(0, -3) + 'abc', // wrong signature
      jwt({ action: '*', resource: 'feed', feed_id: '*' }, 'another-secret-0123456789'),
      scope('feed', '*', 'userzzz'), // another feed
      scope('feed', 'read', '*'), // read-only
      scope('follower', '*', '*'), // another resource
      jwt({ user_id: b }), // a user token is no feed token
      legacySignature(`user${a}`), // the older signature of another feed
      'garbage',
    ];
    for (const token of bad) {
      const body = { actor: 'a', verb: 'v', object: 'o', to: [`user:${b} ${token}`] };
      const res = await send('POST', `feed/user/${a}/`, { headers: py(scope('feed', 'write', `user${a}`)), body: JSON.stringify(body) });
      assertRawError(res, 403, 17, 'NotAllowedException', new RegExp(`"user:${b}"`));
    }
    assert.deepEqual(await feedIds('user', a), []);
    assert.deepEqual(await feedIds('user', b), []);
    // A malformed feed id stays a 400, signed or not.
    const malformed = await send('POST', `feed/user/${a}/`, {
      headers: py(scope('feed', 'write', `user${a}`)),
      body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', to: [`user:b|c ${feedToken()}`] }),
    });
    assertRawError(malformed, 400, 4);
  });

  it('signed targets in to-target updates, add_to_many and full updates', async () => {
    const [a, b, c, d] = [uid('a'), uid('b'), uid('c'), uid('d')];
    const time = '2024-05-01T10:00:00.123456';
    const added = await send('POST', `feed/user/${a}/`, {
      headers: py(scope('feed', 'write', `user${a}`)),
      body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'post:1', time, to: [`user:${b} ${feedToken()}`] }),
    });
    assert.equal(added.status, 201, added.text);
    // update_activity_to_targets
    const moved = await send('POST', `feed_targets/user/${a}/activity_to_targets/`, {
      headers: py(scope('feed_targets', 'write', `user${a}`)),
      body: JSON.stringify({ foreign_id: 'post:1', time, added_targets: [`user:${c} ${feedToken()}`], removed_targets: [`user:${b} ${feedToken()}`] }),
    });
    assert.equal(moved.status, 201, moved.text);
    assert.deepEqual(moved.body.added, [`user:${c}`]);
    assert.deepEqual(moved.body.removed, [`user:${b}`]);
    assert.deepEqual(moved.body.activity.to, [`user:${c}`]);
    assert.deepEqual(await feedIds('user', b), []);
    assert.deepEqual(await feedIds('user', c), [added.body.id]);
    // update_activities with the targets it was stored with, signed: no change of `to`.
    const updated = await send('POST', 'activities/', {
      headers: py(scope('activities', '*')),
      body: JSON.stringify({ activities: [{ actor: 'a', verb: 'v', object: 'o', foreign_id: 'post:1', time, to: [`user:${c} ${feedToken()}`], x: 1 }] }),
    });
    assert.equal(updated.status, 201, updated.text);
    const [inC] = await readAll(t, 'user', c);
    assert.equal(inC.x, 1);
    assert.deepEqual(inC.to, [`user:${c}`]);
    // add_to_many (feed token {resource: feed, action: *}); a bad token refuses the whole call.
    const many = (feeds: string[]) =>
      send('POST', 'feed/add_to_many/', { headers: py(scope('feed', '*')), body: JSON.stringify({ activity: { actor: 'a', verb: 'v', object: 'o:2' }, feeds }) });
    assertRawError(await many([`user:${d} ${feedToken()}`, `timeline:${d} ${legacySignature('timelinezzz')}`]), 403, 17, undefined, /timeline:/);
    assert.deepEqual(await feedIds('user', d), []);
    const ok = await many([`user:${d} ${feedToken()}`, `timeline:${d} ${legacySignature(`timeline${d}`)}`]);
    assert.equal(ok.status, 201, ok.text);
    const [inD] = await readAll(t, 'user', d);
    assert.deepEqual(await feedIds('timeline', d), [inD.id]);
  });

  it('update_activities of an activity that was never added creates it in no feed', async () => {
    const a = uid('a');
    const time = '2024-06-01T08:00:00.250000';
    const body = { activities: [{ actor: 'user:1', verb: 'do', object: 'object:1', foreign_id: `object:${a}`, time, note: 'early' }] };
    const res = await send('POST', 'activities/', { headers: py(scope('activities', '*')), body: JSON.stringify(body) });
    assert.equal(res.status, 201, res.text);
    const got = await send('GET', 'activities/', {
      headers: py(scope('activities', '*')),
      query: `foreign_ids=${encodeURIComponent(`object:${a}`)}&timestamps=${encodeURIComponent(time)}`,
    });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.results.length, 1);
    assert.equal(got.body.results[0].note, 'early');
    assert.equal(got.body.results[0].time, time);
    // It is in no feed until added; adding it keeps its id.
    const added = await send('POST', `feed/user/${a}/`, {
      headers: py(scope('feed', 'write', `user${a}`)),
      body: JSON.stringify({ actor: 'user:1', verb: 'do', object: 'object:1', foreign_id: `object:${a}`, time }),
    });
    assert.equal(added.body.id, got.body.results[0].id);
    assert.deepEqual(await feedIds('user', a), [added.body.id]);
    // Targets cannot be given that way: the update places nothing in feeds.
    const withTo = { activities: [{ ...body.activities[0], foreign_id: `other:${a}`, to: [`user:${a}`] }] };
    assertRawError(await send('POST', 'activities/', { headers: py(scope('activities', '*')), body: JSON.stringify(withTo) }), 400, 4);
  });

  it('reaction listings bounded by ids that name no reaction answer 200 (test_reaction_filter_random)', async () => {
    const id = '87a9eec0-fd5f-11e8-8080-80013fed2f5b';
    const h = py(scope('reactions', '*'));
    for (const path of [`reaction/reaction_id/${id}/like/`, `reaction/activity_id/${id}/`, 'reaction/user_id/mike/']) {
      const res = await send('GET', path, { headers: h, query: `id_lte=${id}` });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.results, []);
    }
  });

  it('a reaction deleted since it bounded a page still bounds the next one by its time', async () => {
    const c = t.client();
    const act = uid('act');
    const likes = [];
    for (let i = 0; i < 4; i++) likes.push(await c.reactions.add('like', act, {}, { userId: 'mike' }));
    await c.reactions.delete(likes[2].id);
    const res = await send('GET', `reaction/activity_id/${act}/like/`, { headers: py(scope('reactions', '*')), query: `id_lt=${likes[2].id}` });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.results.map((r: any) => r.id), [likes[1].id, likes[0].id]);
  });

  it('feed reads bounded by activity ids that name no activity order by their time', async () => {
    const a = uid('a');
    const h = py(scope('feed', '*', `user${a}`));
    const times = ['2024-01-01T00:00:00', '2024-03-01T00:00:00', '2024-05-01T00:00:00'];
    for (const time of times) {
      await send('POST', `feed/user/${a}/`, { headers: h, body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', time }) });
    }
    // A version-1 UUID for 2024-04-01 (no such activity): bounds between the second and third.
    const april = BigInt(Date.UTC(2024, 3, 1)) * 10_000n + 0x01b21dd213814000n;
    const hex = april.toString(16).padStart(16, '0');
    const bound = `${hex.slice(8)}-${hex.slice(4, 8)}-1${hex.slice(1, 4)}-8080-80013fed2f5b`;
    const lt = await send('GET', `feed/user/${a}/`, { headers: h, query: `id_lt=${bound}` });
    assert.equal(lt.status, 200, lt.text);
    assert.deepEqual(lt.body.results.map((x: any) => x.time.slice(0, 10)), ['2024-03-01', '2024-01-01']);
    const gt = await send('GET', `feed/user/${a}/`, { headers: h, query: `id_gt=${bound}` });
    assert.deepEqual(gt.body.results.map((x: any) => x.time.slice(0, 10)), ['2024-05-01']);
  });
});

describe('PHP client (stream-php 8)', () => {
  const php = (auth: string) => ({ ...json(auth, 'stream-php-client-8.0.0'), 'Accept-Encoding': 'gzip' });

  it('targets signed with the older HMAC-SHA1 feed signature; follow with target_token', async () => {
    const [a, b, c] = [uid('a'), uid('b'), uid('c')];
    const body = { activities: [{ actor: 'a', verb: 'v', object: 'o', to: [`user:${b} ${legacySignature(`user${b}`)}`] }] };
    const res = await send('POST', `feed/user/${a}/`, { headers: php(scope('feed', 'write', `user${a}`)), body: JSON.stringify(body) });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.activities[0].to, [`user:${b}`]);
    assert.deepEqual(await feedIds('user', b), [res.body.activities[0].id]);
    const follow = await send('POST', `feed/timeline/${c}/follows/`, {
      headers: php(scope('follower', 'write', `timeline${c}`)),
      body: JSON.stringify({ target: `user:${a}`, activity_copy_limit: 300, target_token: legacySignature(`user${a}`) }),
    });
    assert.equal(follow.status, 201, follow.text);
    assert.deepEqual(await feedIds('timeline', c), [res.body.activities[0].id]);
    // following(): `filter=` empty when no filter is given; offset and limit always sent.
    const following = await send('GET', `feed/timeline/${c}/follows/`, { headers: php(scope('follower', 'read', `timeline${c}`)), query: 'limit=25&offset=0&filter=' });
    assert.equal(following.status, 200, following.text);
    assert.deepEqual(following.body.results.map((f: any) => f.target_id), [`user:${a}`]);
  });

  it('http_build_query forms: booleans as 1, DateTime::ISO8601 times (+0000), remove by foreign id with foreign_id=1', async () => {
    const a = uid('a');
    const h = php(scope('feed', '*', `user${a}`));
    const add = await send('POST', `feed/user/${a}/`, {
      headers: h,
      body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'pin:1', time: '2024-05-01T10:00:00+0000' }),
    });
    assert.equal(add.status, 201, add.text);
    assert.equal(add.body.time, '2024-05-01T10:00:00.000000');
    const read = await send('GET', `enrich/feed/user/${a}/`, { headers: h, query: 'offset=0&limit=20&withOwnReactions=1&withRecentReactions=1&withReactionCounts=1' });
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(read.body.results[0].own_reactions, {});
    const byForeign = await send('GET', 'activities/', {
      headers: php(scope('activities', '*')),
      query: `foreign_ids=pin%3A1&timestamps=${encodeURIComponent('2024-05-01T10:00:00+0000')}`,
    });
    assert.equal(byForeign.body.results[0].id, add.body.id);
    const removed = await send('DELETE', `feed/user/${a}/pin:1/`, { headers: php(scope('feed', 'delete', `user${a}`)), query: 'foreign_id=1' });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(await feedIds('user', a), []);
  });

  it('partial updates with PHP empty arrays: "set": [] and "unset": null', async () => {
    const a = uid('a');
    const add = await send('POST', `feed/user/${a}/`, {
      headers: php(scope('feed', 'write', `user${a}`)),
      body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', color: 'red', size: 2 }),
    });
    const h = php(scope('activities', '*'));
    const unsetOnly = await send('POST', 'activity/', { headers: h, body: JSON.stringify({ id: add.body.id, set: [], unset: ['color'] }) });
    assert.equal(unsetOnly.status, 201, unsetOnly.text);
    const setOnly = await send('POST', 'activity/', { headers: h, body: JSON.stringify({ set: { size: 3 }, unset: null, id: add.body.id }) });
    assert.equal(setOnly.status, 201, setOnly.text);
    const [stored] = await readAll(t, 'user', a);
    assert.equal(stored.color, undefined);
    assert.equal(stored.size, 3);
  });
});

describe('Ruby client (stream-ruby)', () => {
  const rb = (auth: string) => json(auth, 'stream-ruby-client-5.3.1');

  it('DELETE with Content-Type: application/json and no body; sorted, www-form-encoded queries', async () => {
    const [a, b] = [uid('a'), uid('b')];
    const add = await send('POST', `feed/user/${a}/`, { headers: rb(scope('feed', 'write', `user${a}`)), body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o' }) });
    const follow = await send('POST', `feed/timeline/${b}/follows/`, {
      headers: rb(scope('follower', 'write', `timeline${b}`)),
      body: JSON.stringify({ target: `user:${a}`, activity_copy_limit: 300 }),
    });
    assert.equal(follow.status, 201, follow.text);
    const read = await send('GET', `enrich/feed/timeline/${b}/`, {
      headers: rb(scope('feed', 'read', `timeline${b}`)),
      query: 'limit=5&withFirstReactions=true&withOwnReactions=true&withReactionCounts=true'.split('&').sort().join('&'),
    });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.results[0].id, add.body.id);
    const unfollow = await send('DELETE', `feed/timeline/${b}/follows/user:${a}/`, { headers: rb(scope('follower', 'delete', `timeline${b}`)) });
    assert.equal(unfollow.status, 200, unfollow.text);
    const removed = await send('DELETE', `feed/user/${a}/${add.body.id}/`, { headers: rb(scope('feed', 'delete', `user${a}`)) });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(await feedIds('user', a), []);
  });

  it('a Time serialized by Time#to_json without Rails ("2024-05-01 10:00:00 UTC", "… +0200")', async () => {
    const a = uid('a');
    const h = rb(scope('feed', 'write', `user${a}`));
    for (const [time, want] of [
      ['2024-05-01 10:00:00 UTC', '2024-05-01T10:00:00.000000'],
      ['2024-05-01 14:00:00 +0200', '2024-05-01T12:00:00.000000'],
    ]) {
      const res = await send('POST', `feed/user/${a}/`, { headers: h, body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', foreign_id: `t:${time}`, time }) });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.time, want);
    }
  });
});

describe('Go client (stream-go2 8)', () => {
  const go = (auth: string) => ({ 'Content-type': 'application/json', 'X-Stream-Client': 'stream-go2-client-v8.9.0', 'Stream-Auth-Type': 'jwt', Authorization: auth });

  it('TimeLayout times (no zone, trailing zeros trimmed) in bodies and in foreign_ids/timestamps', async () => {
    const a = uid('a');
    const h = go(scope('feed', '*', `user${a}`));
    const body = JSON.stringify({ activities: [
      { actor: 'a', verb: 'v', object: 'o', foreign_id: 'go:1', time: '2024-05-01T10:00:00.5' },
      { actor: 'a', verb: 'v', object: 'o', foreign_id: 'go:2', time: '2024-05-01T10:00:00' },
    ] });
    const add = await send('POST', `feed/user/${a}/`, { headers: h, body });
    assert.equal(add.status, 201, add.text);
    assert.deepEqual(add.body.activities.map((x: any) => x.time), ['2024-05-01T10:00:00.500000', '2024-05-01T10:00:00.000000']);
    const got = await send('GET', 'activities/', {
      headers: go(scope('activities', '*')),
      query: `foreign_ids=${encodeURIComponent('go:1,go:2')}&timestamps=${encodeURIComponent('2024-05-01T10:00:00.5,2024-05-01T10:00:00')}`,
    });
    assert.deepEqual(got.body.results.map((x: any) => x.foreign_id), ['go:1', 'go:2']);
  });

  it('activities read from a ranked feed go back in an update with score and score_vars, which are not stored', async () => {
    const a = uid('a');
    const add = await send('POST', `feed/popular/${a}/`, {
      headers: go(scope('feed', '*', `popular${a}`)),
      body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'rank:1', time: '2024-05-01T10:00:00', likes: 2 }),
    });
    const read = await send('GET', `feed/popular/${a}/`, { headers: go(scope('feed', '*', `popular${a}`)), query: 'limit=5&ranking=likes&withScoreVars=true' });
    const [ranked] = read.body.results;
    assert.equal(ranked.score, 3);
    assert.ok(ranked.score_vars);
    const update = await send('POST', 'activities/', { headers: go(scope('activities', '*')), body: JSON.stringify({ activities: [{ ...ranked, likes: 4 }] }) });
    assert.equal(update.status, 201, update.text);
    const again = await send('POST', `feed/popular/${a}/`, { headers: go(scope('feed', '*', `popular${a}`)), body: JSON.stringify({ ...ranked, likes: 4, score: 9 }) });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.body.id, add.body.id);
    const [plain] = await readAll(t, 'popular', a);
    assert.equal(plain.score, undefined);
    assert.equal(plain.score_vars, undefined);
    assert.equal(plain.likes, 4);
  });

  it('GET reaction/get_many/ with ids and include_deleted (also the Java client)', async () => {
    const c = t.client();
    const act = uid('act');
    const [r1, r2, r3] = [
      await c.reactions.add('like', act, {}, { userId: 'go' }),
      await c.reactions.add('comment', act, { text: 'hi' }, { userId: 'go' }),
      await c.reactions.add('like', act, {}, { userId: 'go' }),
    ];
    await send('DELETE', `reaction/${r3.id}/`, { headers: go(scope('reactions', '*')), query: 'soft=true' });
    const ids = [r2.id, 'no-such-reaction', r1.id, r3.id].join(',');
    const res = await send('GET', 'reaction/get_many/', { headers: go(scope('reactions', '*')), query: `ids=${ids}` });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['duration', 'reactions']);
    assert.deepEqual(res.body.reactions.map((r: any) => r.id), [r2.id, r1.id]);
    assert.equal(res.body.reactions[0].data.text, 'hi');
    const all = await send('GET', 'reaction/get_many/', { headers: go(scope('reactions', '*')), query: `ids=${ids}&include_deleted=true` });
    assert.deepEqual(all.body.reactions.map((r: any) => r.id), [r2.id, r1.id, r3.id]);
    assertRawError(await send('GET', 'reaction/get_many/', { headers: go(scope('reactions', '*')) }), 400, 4);
  });

  it('unfollow with keep_history=1', async () => {
    const [a, b] = [uid('a'), uid('b')];
    await send('POST', `feed/user/${a}/`, { headers: go(scope('feed', '*', `user${a}`)), body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o' }) });
    await send('POST', `feed/timeline/${b}/follows/`, { headers: go(scope('follower', '*', `timeline${b}`)), body: JSON.stringify({ target: `user:${a}`, activity_copy_limit: 10 }) });
    const res = await send('DELETE', `feed/timeline/${b}/follows/user:${a}/`, { headers: go(scope('follower', '*', `timeline${b}`)), query: 'keep_history=1' });
    assert.equal(res.status, 200, res.text);
    assert.equal((await feedIds('timeline', b)).length, 1);
  });
});

describe('Java client (stream-java 3)', () => {
  const java = (auth: string) => ({ 'Stream-Auth-Type': 'jwt', Authorization: auth, 'User-Agent': 'Stream Feed Client Java/3.x (Linux)', 'X-Stream-Client': 'stream-java-3.x' });

  it('JSON with charset, times with milliseconds and no zone, DELETE without Content-Type', async () => {
    const a = uid('a');
    const add = await send('POST', `feed/user/${a}/`, {
      headers: { ...java(scope('feed', '*', `user${a}`)), 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'j:1', time: '2024-05-01T10:00:00.123', to: [`user:${a}x`] }),
    });
    assert.equal(add.status, 201, add.text);
    assert.equal(add.body.time, '2024-05-01T10:00:00.123000');
    const removed = await send('DELETE', `feed/user/${a}/${add.body.id}/`, { headers: java(scope('feed', '*', `user${a}`)) });
    assert.equal(removed.status, 200, removed.text);
  });
});

describe('.NET client (stream-net 7)', () => {
  const net = (auth: string) => ({ Accept: 'application/json', Authorization: auth, 'Stream-Auth-Type': 'jwt', 'X-Stream-Client': 'stream-net-7.4.0' });
  const body = (value: unknown) => ({ body: JSON.stringify(value) });
  const jsonType = { 'Content-Type': 'application/json; charset=utf-8' };

  it('times with .fff and no zone; keep_history=True; PUT restore with "{}"; reaction update with its id in the body', async () => {
    const [a, b] = [uid('a'), uid('b')];
    const add = await send('POST', `feed/user/${a}/`, {
      headers: { ...net(scope('feed', '*', `user${a}`)), ...jsonType },
      ...body({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'n:1', time: '2024-05-01T10:00:00.120' }),
    });
    assert.equal(add.status, 201, add.text);
    assert.equal(add.body.time, '2024-05-01T10:00:00.120000');
    // GetOptions: offset and limit always, plus parameters Rivulet has no use for.
    const read = await send('GET', `feed/user/${a}/`, {
      headers: net(scope('feed', '*', `user${a}`)),
      query: 'offset=0&limit=20&discard_actors=x&discard_actors_sep=%2C&moderation_template=m&endpoint=e&feed_slug=user',
    });
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(read.body.results.map((x: any) => x.id), [add.body.id]);
    await send('POST', `feed/timeline/${b}/follows/`, { headers: { ...net(scope('follower', '*', `timeline${b}`)), ...jsonType }, ...body({ target: `user:${a}` }) });
    const unfollow = await send('DELETE', `feed/timeline/${b}/follows/user:${a}/`, { headers: net(scope('follower', '*', `timeline${b}`)), query: 'keep_history=True' });
    assert.equal(unfollow.status, 200, unfollow.text);
    assert.equal((await feedIds('timeline', b)).length, 1);

    const h = { ...net(scope('reactions', '*')), ...jsonType };
    const r = await send('POST', 'reaction/', { headers: h, ...body({ kind: 'like', activity_id: add.body.id, user_id: 'bob', data: { n: 1 } }) });
    assert.equal(r.status, 201, r.text);
    const upd = await send('PUT', `reaction/${r.body.id}/`, { headers: h, ...body({ id: r.body.id, data: { n: 2 } }) });
    assert.equal(upd.status, 201, upd.text);
    assert.equal(upd.body.data.n, 2);
    await send('DELETE', `reaction/${r.body.id}/`, { headers: net(scope('reactions', '*')), query: 'soft=true' });
    const restored = await send('PUT', `reaction/${r.body.id}/restore/`, { headers: h, body: '{}' });
    assert.ok(restored.status === 200 || restored.status === 201, restored.text);
  });
});
