// Activities trimmed out of every feed (or removed from every feed) are deleted by the background
// sweep once `storage.activity_retention_s` has passed; activities any feed still holds stay.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamClient } from 'getstream';
import { startServer, uid, type TestServer } from '../support/server.js';

/** Polls `check` until it returns true (the sweep runs in the background every second). */
async function eventually(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

async function found(client: StreamClient, ids: string[]): Promise<Set<string>> {
  const res = await client.getActivities({ ids });
  return new Set(res.results.map((a) => a.id as string));
}

describe('activities no feed holds any more', () => {
  let server: TestServer;
  let client: StreamClient;
  before(async () => {
    server = await startServer({ config: { storage: { backend: 'sqlite', activity_retention_s: 0, activity_sweep_interval_s: 1 } } });
    client = server.client();
  });
  after(() => server.close());

  it('are deleted by the sweep, while activities still held by a follower, a `to` target or an aggregated group stay', async () => {
    // `short` feeds keep their 5 newest entries.
    const solo = client.feed('short', uid('solo'));
    const author = client.feed('short', uid('author'));
    const keeper = client.feed('timeline', uid('keeper'));
    await keeper.follow('short', author.userId);
    const target = client.feed('user', uid('target'));
    const grouped = client.feed('aggregated', uid('grouped'));

    const soloIds: string[] = [];
    for (let i = 0; i < 12; i++) {
      const a = await solo.addActivity({ actor: 'SU:solo', verb: 'post', object: `solo:${i}` });
      soloIds.push(a.id);
    }
    const authorIds: string[] = [];
    for (let i = 0; i < 8; i++) {
      const a = await author.addActivity({ actor: 'SU:author', verb: 'post', object: `author:${i}` });
      authorIds.push(a.id);
    }
    // Written to `solo` first (then trimmed out of it below), also held by a `to` target and an aggregated feed.
    const targeted = await solo.addActivity({ actor: 'SU:solo', verb: 'share', object: 'to:1', to: [target.id, grouped.id] });
    for (let i = 0; i < 5; i++) soloIds.push((await solo.addActivity({ actor: 'SU:solo', verb: 'post', object: `late:${i}` })).id);
    // A reaction on an activity that is about to be trimmed away.
    const liked = soloIds[0];
    const like = await client.reactions.add('like', liked, {}, { userId: 'fan' });

    const trimmed = soloIds.slice(0, soloIds.length - 5);
    const kept = soloIds.slice(-5);
    await eventually('the activities trimmed out of every feed are gone', async () => (await found(client, trimmed)).size === 0);

    const soloFeed = await solo.get({ limit: 10 });
    assert.deepEqual(
      soloFeed.results.map((a) => a.id),
      [...kept].reverse(),
      'the feed still shows its 5 newest',
    );
    assert.deepEqual(await found(client, kept), new Set(kept), 'activities in a feed are kept');
    // Trimmed out of short:author, but still in the follower's timeline.
    assert.deepEqual(await found(client, authorIds), new Set(authorIds), 'activities a follower feed holds are kept');
    const keeperFeed = await keeper.get({ limit: 20 });
    assert.deepEqual(
      keeperFeed.results.map((a) => a.id),
      [...authorIds].reverse(),
      "the follower's timeline reads every activity it holds",
    );
    assert.deepEqual(await found(client, [targeted.id]), new Set([targeted.id]), 'an activity a `to` target holds is kept');
    const targetFeed = await target.get({ limit: 5 });
    assert.deepEqual(
      targetFeed.results.map((a) => a.id),
      [targeted.id],
    );
    const groups = await grouped.get({ limit: 5 });
    assert.deepEqual(
      groups.results.flatMap((g) => (g as unknown as { activities: { id: string }[] }).activities.map((a) => a.id)),
      [targeted.id],
      'the aggregated group still shows the activity',
    );
    // Reactions do not keep an activity; they stay.
    const reaction = await client.reactions.get(like.id);
    assert.equal(reaction.activity_id, liked);
  });

  it('deletes an activity removed from its feed', async () => {
    const feed = client.feed('user', uid('remover'));
    const a = await feed.addActivity({ actor: 'SU:remover', verb: 'post', object: 'gone:1' });
    const b = await feed.addActivity({ actor: 'SU:remover', verb: 'post', object: 'stays:1' });
    await feed.removeActivity(a.id);
    await eventually('the removed activity is gone', async () => (await found(client, [a.id])).size === 0);
    assert.deepEqual(await found(client, [b.id]), new Set([b.id]));
  });
});
