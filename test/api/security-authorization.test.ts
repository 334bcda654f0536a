// Authorization holes found by probing (issue "Security and robustness", items 1–3): a user token
// must never change an activity that is not its user's, never see a feed it may not read by
// following it, and a claim present with a value that is not valid is never a wildcard.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamClient } from 'getstream';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { jwt } from '../support/jwt.js';
import { assertRawError, expectApiError, feedIds, readAll } from './activity-helpers.js';

const forbidden = (p: Promise<unknown>) => expectApiError(p, 403, 17, 'NotAllowedException');

describe('security: authorization', () => {
  let t: TestServer;
  let server: StreamClient;
  before(async () => {
    t = await startServer();
    server = t.client();
  });
  after(async () => t.close());

  describe('a user token cannot change an activity that is not its own', () => {
    const TIME = '2024-05-01T10:00:00';
    let alice: string;
    let bob: string;
    let carol: string;
    let bobs: { id: string };
    before(async () => {
      alice = uid('alice');
      bob = uid('bob');
      carol = uid('carol');
      await server.feed('timeline', carol).follow('user', bob);
      bobs = (await server.feed('user', bob).addActivity({
        actor: `SU:${bob}`,
        verb: 'post',
        object: 'o:b1',
        foreign_id: 'b:1',
        time: TIME,
        to: [`notification:${carol}`],
      })) as unknown as { id: string };
    });

    /** Bob's activity as every feed holding it shows it, and who else holds it. */
    async function bobsActivityEverywhere(): Promise<unknown> {
      const out: Record<string, unknown> = {};
      for (const [slug, user] of [['user', bob], ['timeline', carol], ['user', alice]] as const) {
        out[`${slug}:${user}`] = (await readAll(t, slug, user)).map((a) => [a.id, a.actor, a.object, a.origin]);
      }
      out.byId = (await server.getActivities({ ids: [bobs.id] })).results.map((a) => [a.actor, a.object]);
      return out;
    }

    it('refuses an add with another user\'s foreign_id and time (403/17), changing nothing', async () => {
      const before = await bobsActivityEverywhere();
      const ac = t.userClient(alice);
      const pwn = { actor: `SU:${alice}`, verb: 'post', object: 'pwned-by-alice', foreign_id: 'b:1', time: TIME };
      await forbidden(ac.feed('user', alice).addActivity(pwn));
      // In a batch with an innocent activity: the whole batch is refused.
      await forbidden(ac.feed('user', alice).addActivities([{ actor: `SU:${alice}`, verb: 'post', object: 'o:fine' }, pwn]));
      // The bare-id actor spelling and a `to` target the user may otherwise write to.
      await forbidden(ac.feed('user', alice).addActivity({ ...pwn, actor: alice }));
      await forbidden(ac.feed('user', alice).addActivity({ ...pwn, to: [`notification:${bob}`] }));
      assert.deepEqual(await bobsActivityEverywhere(), before);
      assert.deepEqual(await feedIds(t, 'user', alice), []);
    });

    it('still replaces its own activity with the same foreign_id and time (a retried or edited post)', async () => {
      const ac = t.userClient(alice);
      const first = (await ac.feed('user', alice).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:v1', foreign_id: 'a:1', time: TIME })) as any;
      const second = (await ac.feed('user', alice).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:v2', foreign_id: 'a:1', time: TIME })) as any;
      assert.equal(second.id, first.id);
      assert.deepEqual((await readAll(t, 'user', alice)).map((a) => a.object), ['o:v2']);
      // An activity a server token wrote for alice into her own feed is hers too.
      const byServer = (await server.feed('user', alice).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:s1', foreign_id: 'a:2', time: TIME })) as any;
      const again = (await ac.feed('user', alice).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:s2', foreign_id: 'a:2', time: TIME })) as any;
      assert.equal(again.id, byServer.id);
    });

    it('refuses replacing an activity in its own feed whose actor is someone else', async () => {
      // A server token wrote bob's post into alice's feed (a wall post): alice may remove it from
      // her feed, but not rewrite it as hers.
      const wall = (await server.feed('user', alice).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o:wall', foreign_id: 'w:1', time: TIME })) as any;
      const ac = t.userClient(alice);
      await forbidden(ac.feed('user', alice).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:mine-now', foreign_id: 'w:1', time: TIME }));
      assert.deepEqual((await server.getActivities({ ids: [wall.id] })).results.map((a) => [a.actor, a.object]), [[`SU:${bob}`, 'o:wall']]);
    });

    it('cannot reach the activity through update, partial update, to-targets or add_to_many', async () => {
      const before = await bobsActivityEverywhere();
      const token = server.createUserToken(alice);
      const ac = t.userClient(alice);
      const expect403 = async (method: string, path: string, body: unknown) =>
        assertRawError(await rawRequest(t, method, path, { token, body: body as object }), 403, 17, 'NotAllowedException');
      await expect403('POST', 'activities/', { activities: [{ actor: `SU:${alice}`, verb: 'post', object: 'x', foreign_id: 'b:1', time: TIME }] });
      await forbidden(ac.activityPartialUpdate({ id: bobs.id, set: { object: 'x' } }));
      await forbidden(ac.activityPartialUpdate({ foreign_id: 'b:1', time: TIME, unset: ['to'] }));
      await expect403('POST', `feed_targets/user/${bob}/activity_to_targets/`, { foreign_id: 'b:1', time: TIME, new_targets: [`user:${alice}`] });
      await expect403('POST', `feed_targets/user/${alice}/activity_to_targets/`, { foreign_id: 'b:1', time: TIME, added_targets: [`user:${alice}`] });
      await expect403('POST', 'feed/add_to_many/', { activity: { actor: `SU:${alice}`, verb: 'post', object: 'x', foreign_id: 'b:1', time: TIME }, feeds: [`user:${alice}`] });
      assert.deepEqual(await bobsActivityEverywhere(), before);
    });

    it('cannot overwrite a reaction\'s activity, nor give its own reaction activity a `to` list', async () => {
      const dave = uid('dave');
      const r = (await server.reactions.add('comment', bobs.id, { text: 'hi' }, { userId: bob, targetFeeds: [`user:${bob}`] })) as any;
      const [reactionAct] = (await readAll(t, 'user', bob)).filter((a) => a.reaction === `SR:${r.id}`);
      assert.ok(reactionAct, 'the reaction wrote its activity into its target feed');
      const ac = t.userClient(alice);
      await forbidden(
        ac.feed('user', alice).addActivity({ actor: `SU:${alice}`, verb: 'comment', object: 'pwned', foreign_id: reactionAct.foreign_id, time: reactionAct.time }),
      );
      assert.deepEqual((await server.getActivities({ ids: [reactionAct.id] })).results.map((a) => a.object), [`SA:${bobs.id}`]);
      const dc = t.userClient(dave);
      for (const extra of [{ to: [`timeline:${bob}`] }, { to: ['not a feed'] }]) {
        await expectApiError(
          dc.reactions.add('like', bobs.id, {}, { targetFeeds: [`user:${dave}`], targetFeedsExtraData: extra }),
          400,
          4,
          'InputException',
          /target_feeds_extra_data/,
        );
      }
      assert.deepEqual(await feedIds(t, 'user', dave), []);
    });
  });

  describe('following does not get around the read policy', () => {
    it('a user may not follow a feed it may not read (403/17), and nothing leaks', async () => {
      const alice = uid('alice');
      const bob = uid('bob');
      await server.feed('secret', bob).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o:private' });
      await server.feed('timeline', bob).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o:own-timeline' });
      const ac = t.userClient(alice);
      await forbidden(ac.feed('secret', bob).get());
      await forbidden(ac.feed('timeline', alice).follow('secret', bob));
      await forbidden(ac.feed('timeline', alice).follow('timeline', bob));
      // The `follows/` spelling of the route too.
      assertRawError(
        await rawRequest(t, 'POST', `feed/timeline/${alice}/follows/`, { token: server.createUserToken(alice), body: { target: `secret:${bob}` } }),
        403,
        17,
        'NotAllowedException',
      );
      assert.deepEqual((await server.feed('timeline', alice).following()).results, []);
      assert.deepEqual(await feedIds(t, 'timeline', alice), []);
    });

    it('a user may follow public feeds and its own feeds of any group', async () => {
      const alice = uid('alice');
      const bob = uid('bob');
      await server.feed('user', bob).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o:public' });
      await server.feed('secret', alice).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:mine' });
      const ac = t.userClient(alice);
      await ac.feed('timeline', alice).follow('user', bob);
      await ac.feed('timeline', alice).follow('secret', alice);
      const objects = (await readAll(t, 'timeline', alice)).map((a) => a.object).sort();
      assert.deepEqual(objects, ['o:mine', 'o:public']);
    });

    it('a group made `followable` may be followed by users who may not read it; others stay closed', async () => {
      const groups = [
        { name: 'user', type: 'flat' as const },
        { name: 'timeline', type: 'flat' as const, followable: true },
        { name: 'secret', type: 'flat' as const },
      ];
      const t2 = await startServer({ groups });
      try {
        const srv = t2.client();
        const alice = uid('alice');
        const bob = uid('bob');
        await srv.feed('timeline', bob).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o:timeline' });
        const ac = t2.userClient(alice);
        await forbidden(ac.feed('timeline', bob).get());
        await ac.feed('timeline', alice).follow('timeline', bob);
        assert.deepEqual((await readAll(t2, 'timeline', alice)).map((a) => a.object), ['o:timeline']);
        await forbidden(ac.feed('timeline', alice).follow('secret', bob));
      } finally {
        await t2.close();
      }
    });

    it('a server token may follow any feed', async () => {
      const alice = uid('alice');
      const bob = uid('bob');
      await server.feed('secret', bob).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o:private' });
      await server.feed('timeline', alice).follow('secret', bob);
      assert.deepEqual((await readAll(t, 'timeline', alice)).map((a) => a.object), ['o:private']);
    });
  });

  describe('claims present with an invalid value are refused, never a wildcard', () => {
    it('answers 401/3 for null, empty or mistyped scope claims', async () => {
      const alice = uid('alice');
      await server.feed('secret', alice).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o:s' });
      const payloads: unknown[] = [
        { resource: null, user_id: alice },
        { resource: null },
        { resource: null, action: '*', feed_id: '*' },
        { resource: '*', action: null, feed_id: '*' },
        { resource: '*', action: '*', feed_id: null },
        { resource: '', action: '*', feed_id: '*' },
        { resource: ' , ', action: '*', feed_id: '*' },
        { resource: 5, action: '*', feed_id: '*' },
        { resource: ['*'], action: '*', feed_id: '*' },
        { resource: { '*': true }, action: '*', feed_id: '*' },
        { resource: '*', action: false, feed_id: '*' },
        { resource: '*', action: '*', feed_id: '*', user_id: null },
        { resource: '*', action: '*', feed_id: '*', user_id: 7 },
        { user_id: null },
        { user_id: [alice] },
      ];
      for (const payload of payloads) {
        const res = await rawRequest(t, 'GET', `feed/secret/${alice}/`, { token: jwt(payload, t.apiSecret) });
        assertRawError(res, 401, 3, 'AuthenticationFailed');
        const write = await rawRequest(t, 'POST', `feed/secret/${alice}/`, {
          token: jwt(payload, t.apiSecret),
          body: { actor: `SU:${alice}`, verb: 'post', object: 'o:forged' },
        });
        assertRawError(write, 401, 3, 'AuthenticationFailed');
      }
      assert.deepEqual((await readAll(t, 'secret', alice)).map((a) => a.object), ['o:s']);
    });
  });
});
