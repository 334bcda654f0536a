// Black-box tests of authentication and authorisation (stream-v2-api.md §2, §3, §23.1, §23.3):
// the user-token policy of §2.3 through user clients of the official getstream package, server
// token scopes, and hand-made tokens for every authentication failure.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { StreamClient, StreamFeed } from 'getstream';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertRawError, expectApiError as expectError } from './activity-helpers.js';

type Act = Record<string, unknown> & { id: string; origin: string | null; time: string };

/** The exception name of each error code these tests meet (§3.1). */
const EXCEPTIONS: Record<number, string> = {
  2: 'ApiKeyException',
  3: 'AuthenticationFailed',
  4: 'InputException',
  17: 'NotAllowedException',
};

const expectApiError = (p: Promise<unknown>, status: number, code: number, detail?: RegExp) => expectError(p, status, code, EXCEPTIONS[code], detail);

const forbidden = (p: Promise<unknown>) => expectApiError(p, 403, 17);

const assertRaw = (res: { status: number; body: any }, status: number, code: number, detail?: RegExp) => assertRawError(res, status, code, EXCEPTIONS[code], detail);

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** A JWT made by hand: HS256 by default; `alg: none` gets an empty signature. */
function jwt(payload: object, secret: string, alg: 'HS256' | 'HS512' | 'none' = 'HS256'): string {
  const head = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  if (alg === 'none') return `${head}.`;
  const sig = createHmac(alg === 'HS256' ? 'sha256' : 'sha512', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

/** A request with full control over `api_key` and `Authorization` (null = leave out). */
async function call(
  t: TestServer,
  method: string,
  path: string,
  opts: { apiKey?: string | null; auth?: string | null; body?: object },
): Promise<{ status: number; body: any }> {
  const url = new URL(`${t.baseUrl}v1.0/${path}`);
  const key = opts.apiKey === undefined ? t.apiKey : opts.apiKey;
  if (key !== null) url.searchParams.set('api_key', key);
  url.searchParams.set('location', 'unspecified');
  const headers: Record<string, string> = { 'stream-auth-type': 'jwt' };
  if (opts.auth != null) headers.authorization = opts.auth;
  if (opts.body) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: opts.body ? JSON.stringify(opts.body) : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('auth', () => {
  let t: TestServer;
  let server: StreamClient;
  before(async () => {
    t = await startServer();
    server = t.client();
  });
  after(async () => t.close());

  /** What the server sees of some feeds: activities and edges, to prove a refused call changed nothing. */
  async function snapshot(...fids: string[]): Promise<unknown> {
    const out: Record<string, unknown> = {};
    for (const fid of fids) {
      const [slug, id] = fid.split(':');
      const f = server.feed(slug, id);
      const { duration: _d, ...read } = (await f.get({ limit: 100 })) as unknown as Record<string, unknown>;
      out[fid] = {
        read,
        following: (await f.following({ limit: 500 })).results,
        followers: (await f.followers({ limit: 500 })).results,
      };
    }
    return out;
  }

  async function unchanged(fids: string[], fn: () => Promise<void>): Promise<void> {
    const before = await snapshot(...fids);
    await fn();
    assert.deepEqual(await snapshot(...fids), before);
  }

  async function seed(feed: StreamFeed, object = 'o:seed', extra: object = {}): Promise<Act> {
    return (await server.feed(feed.slug, feed.userId).addActivity({
      actor: `SU:${feed.userId}`,
      verb: 'post',
      object,
      ...extra,
    })) as unknown as Act;
  }

  describe('user-token policy (§2.3)', () => {
    let alice: string;
    let bob: string;
    let ac: StreamClient;
    before(() => {
      alice = uid('alice');
      bob = uid('bob');
      ac = t.userClient(alice);
    });

    it('reads own feeds of every group', async () => {
      const mine = await seed(server.feed('timeline', alice));
      const res = await ac.feed('timeline', alice).get();
      assert.deepEqual(res.results.map((a) => a.id), [mine.id]);
      for (const group of ['user', 'flat', 'secret', 'aggregated', 'notification']) {
        const r = await ac.feed(group, alice).get();
        assert.ok(Array.isArray(r.results), group);
      }
      // The plain (non-enriched) path too.
      const plain = await rawRequest(t, 'GET', `feed/timeline/${alice}/`, { token: ac.userToken });
      assert.equal(plain.status, 200);
      assert.deepEqual(plain.body.results.map((a: Act) => a.id), [mine.id]);
    });

    it('reads other users\' user feeds, but not their timeline or other groups (403/17)', async () => {
      const bobs = await seed(server.feed('user', bob));
      await seed(server.feed('timeline', bob));
      const res = await ac.feed('user', bob).get();
      assert.deepEqual(res.results.map((a) => a.id), [bobs.id]);

      await forbidden(ac.feed('timeline', bob).get());
      assertRaw(await rawRequest(t, 'GET', `feed/timeline/${bob}/`, { token: ac.userToken }), 403, 17);
      assertRaw(await rawRequest(t, 'GET', `enrich/feed/timeline/${bob}/`, { token: ac.userToken }), 403, 17);
      for (const group of ['flat', 'secret', 'aggregated', 'notification']) await forbidden(ac.feed(group, bob).get());
    });

    it('adds to its own feed, the client filling in actor SU:<user>', async () => {
      const feed = ac.feed('user', alice);
      const added = (await feed.addActivity({ verb: 'post', object: 'o:own' } as any)) as unknown as Act;
      assert.equal(added.actor, `SU:${alice}`);
      const read = (await server.feed('user', alice).get()).results as unknown as Act[];
      assert.equal(read[0].id, added.id);
      assert.equal(read[0].actor, `SU:${alice}`);
      // An explicit actor naming the user is fine as well.
      const explicit = (await feed.addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:2' })) as unknown as Act;
      assert.equal(explicit.actor, `SU:${alice}`);
    });

    it('refuses adding to another user\'s feed and adding as another actor (403/17), writing nothing', async () => {
      await seed(server.feed('user', bob), 'o:bob');
      const fids = [`user:${bob}`, `user:${alice}`, `timeline:${bob}`];
      await unchanged(fids, async () => {
        await forbidden(ac.feed('user', bob).addActivity({ verb: 'post', object: 'o:intrude' } as any));
        await forbidden(ac.feed('user', bob).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:intrude' }));
        await forbidden(ac.feed('timeline', bob).addActivity({ verb: 'post', object: 'o:intrude' } as any));
        await forbidden(ac.feed('user', alice).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o:spoof' }));
        await forbidden(ac.feed('user', alice).addActivities([{ actor: `SU:${bob}`, verb: 'post', object: 'o:spoof' }]));
      });
    });

    it('allows `to` targets among its own feeds and anyone\'s notification feed', async () => {
      const act = (await ac.feed('user', alice).addActivity({
        verb: 'post',
        object: 'o:to',
        to: [`timeline:${alice}`, `notification:${bob}`],
      } as any)) as unknown as Act;
      assert.deepEqual(act.to, [`timeline:${alice}`, `notification:${bob}`]);
      const tl = (await server.feed('timeline', alice).get()).results as unknown as Act[];
      assert.ok(tl.some((a) => a.id === act.id && a.origin === null));
      const notif = await server.feed('notification', bob).get();
      assert.ok(JSON.stringify(notif.results).includes(act.id), 'bob\'s notification feed holds the activity');
    });

    it('refuses `to` targets of others\' non-notification feeds (403/17), writing nothing', async () => {
      const fids = [`user:${alice}`, `user:${bob}`, `timeline:${bob}`, `timeline:${alice}`];
      await unchanged(fids, async () => {
        for (const to of [[`user:${bob}`], [`timeline:${bob}`], [`timeline:${alice}`, `user:${bob}`]]) {
          await forbidden(ac.feed('user', alice).addActivity({ verb: 'post', object: 'o:x', to } as any));
        }
      });
    });

    it('removes from its own feed (missing ids are fine) but not from others\' (403/17)', async () => {
      const own = await seed(server.feed('user', alice), 'o:rm');
      const res = await ac.feed('user', alice).removeActivity(own.id);
      assert.equal(res.removed, own.id);
      assert.ok(!(await server.feed('user', alice).get({ limit: 100 })).results.some((a) => a.id === own.id));
      await ac.feed('user', alice).removeActivity(own.id);

      const bobs = await seed(server.feed('user', bob), 'o:keep');
      await unchanged([`user:${bob}`], async () => {
        await forbidden(ac.feed('user', bob).removeActivity(bobs.id));
        await forbidden(ac.feed('user', bob).removeActivity({ foreign_id: 'anything' }));
      });
    });

    it('follows and unfollows with its own source feed only', async () => {
      const carol = uid('carol');
      await seed(server.feed('user', carol), 'o:carol');
      await server.feed('timeline', bob).follow('user', carol);

      await ac.feed('timeline', alice).follow('user', carol);
      assert.deepEqual((await server.feed('timeline', alice).following()).results.map((r) => r.target_id), [`user:${carol}`]);
      await ac.feed('timeline', alice).unfollow('user', carol);
      assert.deepEqual((await server.feed('timeline', alice).following()).results, []);

      await unchanged([`timeline:${bob}`, `user:${carol}`, `timeline:${alice}`], async () => {
        await forbidden(ac.feed('timeline', bob).follow('user', alice));
        await forbidden(ac.feed('timeline', bob).unfollow('user', carol));
        await forbidden(ac.feed('timeline', bob).unfollow('user', carol, { keepHistory: true }));
        assertRaw(
          await rawRequest(t, 'POST', `feed/timeline/${bob}/follows/`, { body: { target: `user:${alice}` }, token: ac.userToken }),
          403,
          17,
        );
      });
    });

    it('lists followers/following of its own feeds only; follow stats of anyone', async () => {
      await server.feed('timeline', bob).follow('user', alice);
      const mine = await ac.feed('user', alice).followers();
      assert.ok(mine.results.some((r) => r.feed_id === `timeline:${bob}`));
      assert.ok(Array.isArray((await ac.feed('timeline', alice).following()).results));

      await forbidden(ac.feed('timeline', bob).following());
      await forbidden(ac.feed('user', bob).followers());
      await forbidden(ac.feed('timeline', bob).following({ filter: [`user:${alice}`] }));
      assertRaw(await rawRequest(t, 'GET', `feed/timeline/${bob}/follows/`, { token: ac.userToken }), 403, 17);

      const stats = await ac.feed('timeline', bob).followStats();
      assert.ok(stats.results.following.count >= 1);
      assert.equal(stats.results.following.feed, `timeline:${bob}`);
    });

    it('refuses the server-only endpoints (403/17), changing nothing', async () => {
      const own = await seed(server.feed('user', alice), 'o:server-only', { foreign_id: 'so:1', popularity: 1 });
      const other = uid('other');
      await server.feed('flat', other).follow('user', bob);
      const fids = [`user:${alice}`, `user:${bob}`, `flat:${other}`, `timeline:${alice}`, `notification:${bob}`];
      const token = ac.userToken;
      await unchanged(fids, async () => {
        // updateActivities, addToMany, followMany and unfollowMany refuse to run client-side.
        assertRaw(
          await rawRequest(t, 'POST', 'activities/', {
            token,
            body: { activities: [{ actor: `SU:${alice}`, verb: 'post', object: 'o:changed', foreign_id: 'so:1', time: own.time }] },
          }),
          403,
          17,
        );
        await forbidden(ac.activityPartialUpdate({ id: own.id, set: { popularity: 99 } }));
        await forbidden(ac.activityPartialUpdate({ foreign_id: 'so:1', time: own.time, unset: ['popularity'] }));
        assertRaw(
          await rawRequest(t, 'POST', 'feed/add_to_many/', {
            token,
            body: { activity: { actor: `SU:${alice}`, verb: 'post', object: 'o:many' }, feeds: [`user:${alice}`, `user:${bob}`] },
          }),
          403,
          17,
        );
        assertRaw(
          await rawRequest(t, 'POST', 'follow_many/', { token, body: [{ source: `timeline:${alice}`, target: `user:${bob}` }] }),
          403,
          17,
        );
        assertRaw(
          await rawRequest(t, 'POST', 'unfollow_many/', { token, body: [{ source: `flat:${other}`, target: `user:${bob}` }] }),
          403,
          17,
        );
        await forbidden(ac.feed('user', alice).updateActivityToTargets('so:1', own.time, [`notification:${bob}`]));
        await forbidden(ac.feed('user', alice).updateActivityToTargets('so:1', own.time, undefined, [`timeline:${alice}`]));
      });
      // Getting activities by id is open to user tokens.
      const got = await ac.getActivities({ ids: [own.id] });
      assert.deepEqual(got.results.map((a) => a.id), [own.id]);
    });

    it('rejects tokens whose claims are neither a server nor a user token (401/3)', async () => {
      for (const payload of [{}, { user_id: '' }, { user_id: 42 }, { feed_id: '*' }]) {
        assertRaw(await call(t, 'GET', `feed/user/${alice}/`, { auth: jwt(payload, t.apiSecret) }), 401, 3);
      }
      // Extra claims on a user token are ignored.
      const extra = jwt({ user_id: alice, role: 'admin', anything: { nested: true } }, t.apiSecret);
      assert.equal((await call(t, 'GET', `feed/user/${alice}/`, { auth: extra })).status, 200);
    });
  });

  describe('server-token scope (§2.1)', () => {
    it('a feed token of feed A cannot read or write feed B (403/17)', async () => {
      const a = uid('a');
      const b = uid('b');
      await seed(server.feed('user', b));
      const tokenA = server.feed('user', a).token;
      const asA = server.feed('user', b, tokenA);
      await unchanged([`user:${b}`, `user:${a}`], async () => {
        await forbidden(asA.get());
        await forbidden(asA.addActivity({ actor: 'SU:a', verb: 'post', object: 'o:x' }));
        await forbidden(asA.follow('user', a));
        await forbidden(asA.followers());
        assertRaw(await rawRequest(t, 'GET', `feed/user/${b}/`, { token: tokenA }), 403, 17);
        // The same slug with another user id, and another slug with the same id, are other feeds.
        assertRaw(await rawRequest(t, 'GET', `feed/timeline/${a}/`, { token: tokenA }), 403, 17);
        // Feed-scoped tokens cannot call feed-less endpoints.
        assertRaw(await rawRequest(t, 'POST', 'follow_many/', { token: tokenA, body: [{ source: `user:${a}`, target: `user:${b}` }] }), 403, 17);
      });
    });

    it('follow stats check the queried feed against a feed token', async () => {
      const a = uid('a');
      const b = uid('b');
      const tokenA = server.feed('timeline', a).token;
      const own = await rawRequest(t, 'GET', 'stats/follow/', { token: tokenA, query: { followers: `timeline:${a}`, following: `timeline:${a}` } });
      assert.equal(own.status, 200, own.text);
      assert.deepEqual(own.body.results, { followers: { feed: `timeline:${a}`, count: 0 }, following: { feed: `timeline:${a}`, count: 0 } });
      assertRaw(
        await rawRequest(t, 'GET', 'stats/follow/', { token: tokenA, query: { followers: `timeline:${b}`, following: `timeline:${b}` } }),
        403,
        17,
      );
      assertRaw(
        await rawRequest(t, 'GET', 'stats/follow/', { token: tokenA, query: { followers: `timeline:${a}`, following: `timeline:${b}` } }),
        403,
        17,
      );
    });

    it('only the path feed is checked: a feed token may follow others and post with `to` targets', async () => {
      const a = uid('a');
      const b = uid('b');
      const feedA = server.feed('timeline', a);
      await feedA.follow('user', b);
      const act = (await feedA.addActivity({ actor: 'SU:a', verb: 'post', object: 'o:1', to: [`user:${b}`] })) as unknown as Act;
      assert.deepEqual((await server.feed('user', b).get()).results.map((x) => x.id), [act.id]);
    });

    it('a read-only token reads its feed but cannot write (403/17)', async () => {
      const a = uid('ro');
      const other = uid('other');
      const act = await seed(server.feed('user', a));
      await server.feed('user', a).follow('user', other);
      const ro = server.feed('user', a, server.getReadOnlyToken('user', a));
      assert.deepEqual((await ro.get()).results.map((x) => x.id), [act.id]);
      assert.equal((await ro.following()).results.length, 1);
      await unchanged([`user:${a}`, `user:${other}`], async () => {
        await forbidden(ro.addActivity({ actor: 'SU:a', verb: 'post', object: 'o:ro' }));
        await forbidden(ro.removeActivity(act.id));
        await forbidden(ro.follow('flat', other));
        await forbidden(ro.unfollow('user', other));
      });
      // The read-write token of the same feed may write.
      const rw = server.feed('user', a, server.getReadWriteToken('user', a));
      await rw.addActivity({ actor: 'SU:a', verb: 'post', object: 'o:rw' });
    });

    it('an `activities` resource token cannot read feeds (403/17) but can get activities', async () => {
      const a = uid('a');
      const act = await seed(server.feed('user', a));
      const token = jwt({ resource: 'activities', action: '*', feed_id: '*' }, t.apiSecret);
      assertRaw(await rawRequest(t, 'GET', `feed/user/${a}/`, { token }), 403, 17);
      assertRaw(await rawRequest(t, 'GET', `feed/user/${a}/followers/`, { token }), 403, 17);
      const got = await rawRequest(t, 'GET', 'activities/', { token, query: { ids: act.id } });
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.results.map((x: Act) => x.id), [act.id]);
    });

    it('accepts comma lists and both `user42` / `user:42` spellings in feed_id claims', async () => {
      const a = uid('a');
      const b = uid('b');
      const act = await seed(server.feed('user', a));
      const both = jwt({ resource: '*', action: '*', feed_id: `user:${a},timeline:${a}` }, t.apiSecret);
      assert.deepEqual((await server.feed('user', a, both).get()).results.map((x) => x.id), [act.id]);
      await server.feed('timeline', a, both).addActivity({ actor: 'SU:a', verb: 'post', object: 'o:tl' });
      await forbidden(server.feed('user', b, both).get());

      for (const feedClaim of [`user${a}`, `user:${a}`, `timeline${a}, user${a}`]) {
        const token = jwt({ resource: '*', action: '*', feed_id: feedClaim }, t.apiSecret);
        const r = await rawRequest(t, 'GET', `feed/user/${a}/`, { token });
        assert.equal(r.status, 200, `${feedClaim}: ${JSON.stringify(r.body)}`);
      }
    });

    it('honours narrower resources and comma-listed actions', async () => {
      const a = uid('a');
      const b = uid('b');
      const feedOnly = jwt({ resource: 'feed', action: 'read,write', feed_id: '*' }, t.apiSecret);
      const act = (await server.feed('user', a, feedOnly).addActivity({ actor: 'SU:a', verb: 'post', object: 'o:1' })) as unknown as Act;
      assert.equal((await server.feed('user', a, feedOnly).get()).results.length, 1);
      await unchanged([`user:${a}`, `user:${b}`], async () => {
        await forbidden(server.feed('user', a, feedOnly).removeActivity(act.id));
        await forbidden(server.feed('user', a, feedOnly).follow('user', b));
      });
      const follower = jwt({ resource: 'follower,feed', action: '*', feed_id: '*' }, t.apiSecret);
      await server.feed('user', a, follower).follow('user', b);
      assert.equal((await server.feed('user', b, follower).followers()).results.length, 1);
      const del = jwt({ resource: '*', action: 'delete', feed_id: `user${a}` }, t.apiSecret);
      await forbidden(server.feed('user', a, del).get());
      await server.feed('user', a, del).removeActivity(act.id);
      assert.equal((await server.feed('user', a).get()).results.length, 0);
    });
  });

  describe('authentication failures (§2.2, §23.1)', () => {
    let feedPath: string;
    let fid: string;
    let good: string;
    before(async () => {
      const id = uid('auth');
      fid = `user:${id}`;
      feedPath = `feed/user/${id}/`;
      good = server.feed('user', id).token;
      await seed(server.feed('user', id));
    });

    /** A POST that must be refused with `status`/`code`, writing nothing. */
    async function refusedWrite(opts: { apiKey?: string | null; auth?: string | null }, status: number, code: number, detail?: RegExp) {
      await unchanged([fid], async () => {
        const r = await call(t, 'POST', feedPath, { ...opts, body: { actor: 'SU:x', verb: 'post', object: 'o:bad' } });
        assertRaw(r, status, code, detail);
      });
    }

    it('accepts the client\'s bare token and a `Bearer ` prefix', async () => {
      assert.equal((await call(t, 'GET', feedPath, { auth: good })).status, 200);
      for (const auth of [`Bearer ${good}`, `bearer ${good}`]) {
        const r = await call(t, 'GET', feedPath, { auth });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.results.length, 1);
      }
    });

    it('missing api_key → 401/2', async () => {
      assertRaw(await call(t, 'GET', feedPath, { apiKey: null, auth: good }), 401, 2);
      await refusedWrite({ apiKey: null, auth: good }, 401, 2);
      assertRaw(await call(t, 'GET', feedPath, { apiKey: '', auth: good }), 401, 2);
    });

    it('unknown api_key → 401/2, even with a valid token and before looking at the token', async () => {
      assertRaw(await call(t, 'GET', feedPath, { apiKey: 'nosuchkey', auth: good }), 401, 2);
      assertRaw(await call(t, 'GET', feedPath, { apiKey: 'nosuchkey', auth: null }), 401, 2);
      await refusedWrite({ apiKey: 'nosuchkey', auth: good }, 401, 2);
    });

    it('missing Authorization → 401/3', async () => {
      assertRaw(await call(t, 'GET', feedPath, { auth: null }), 401, 3);
      assertRaw(await call(t, 'GET', feedPath, { auth: '' }), 401, 3);
      await refusedWrite({ auth: null }, 401, 3);
    });

    it('unparsable tokens → 401/3', async () => {
      for (const auth of ['abc', 'a.b.c', 'Bearer ', `${good}x`.replace(/\.[^.]*$/, '.!!!')]) {
        assertRaw(await call(t, 'GET', feedPath, { auth }), 401, 3);
      }
    });

    it('a token signed with another secret → 401/3 naming the signature', async () => {
      const forged = jwt({ resource: '*', action: '*', feed_id: '*' }, 'not-the-secret');
      assertRaw(await call(t, 'GET', feedPath, { auth: forged }), 401, 3, /signature/i);
      await refusedWrite({ auth: forged }, 401, 3, /signature/i);
      // A user token signed by the official client for another app is refused the same way.
      const { connect } = await import('getstream');
      const otherApp = connect(t.apiKey, 'another-secret-entirely', t.appId, { urlOverride: { api: t.baseUrl } });
      await expectApiError(
        connect(t.apiKey, otherApp.createUserToken('mallory'), t.appId, { urlOverride: { api: t.baseUrl } }).feed('user', 'mallory').get(),
        401,
        3,
        /signature/i,
      );
    });

    it('`alg: none` → 401/3', async () => {
      const none = jwt({ resource: '*', action: '*', feed_id: '*' }, t.apiSecret, 'none');
      assertRaw(await call(t, 'GET', feedPath, { auth: none }), 401, 3);
      await refusedWrite({ auth: none }, 401, 3);
      // Even carrying a valid HS256 signature under an `alg: none` header.
      const [, payload, sig] = jwt({ resource: '*', action: '*', feed_id: '*' }, t.apiSecret).split('.');
      const mixed = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.${sig}`;
      assertRaw(await call(t, 'GET', feedPath, { auth: mixed }), 401, 3);
    });

    it('HS512 → 401/3, even signed with the right secret', async () => {
      const hs512 = jwt({ resource: '*', action: '*', feed_id: '*' }, t.apiSecret, 'HS512');
      assertRaw(await call(t, 'GET', feedPath, { auth: hs512 }), 401, 3);
      await refusedWrite({ auth: hs512 }, 401, 3);
    });

    it('an expired `exp` → 401/3; a future `exp` and a past `iat` are fine', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = jwt({ resource: '*', action: '*', feed_id: '*', exp: now - 60 }, t.apiSecret);
      assertRaw(await call(t, 'GET', feedPath, { auth: expired }), 401, 3, /expired/);
      await refusedWrite({ auth: expired }, 401, 3, /expired/);
      const expiredUser = jwt({ user_id: 'someone', exp: now - 1 }, t.apiSecret);
      assertRaw(await call(t, 'GET', feedPath, { auth: expiredUser }), 401, 3, /expired/);

      const fresh = jwt({ resource: '*', action: '*', feed_id: '*', iat: now - 3600, exp: now + 3600 }, t.apiSecret);
      assert.equal((await call(t, 'GET', feedPath, { auth: fresh })).status, 200);
    });

    it('a token accepted while valid is refused once its `exp` passes, though it was seen before', async () => {
      // Valid for 2 to 3 seconds: room for the two accepted calls on a loaded machine.
      const exp = Math.floor(Date.now() / 1000) + 3;
      const shortLived = jwt({ resource: '*', action: '*', feed_id: '*', exp }, t.apiSecret);
      assert.equal((await call(t, 'GET', feedPath, { auth: shortLived })).status, 200);
      assert.equal((await call(t, 'GET', feedPath, { auth: shortLived })).status, 200);
      await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
      assertRaw(await call(t, 'GET', feedPath, { auth: shortLived }), 401, 3, /expired/);
    });

    it('a token checked against the right app: the key decides which secret applies', async () => {
      // A token valid for this app presented with no key still fails on the key first.
      assertRaw(await call(t, 'GET', 'stats/follow/?followers=user:x', { apiKey: null, auth: good }), 401, 2);
    });
  });
});
