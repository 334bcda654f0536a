import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { newAppConfig, parseConfig } from '../config/config.js';
import { parseFeedId } from '../core/feeds/feed-id.js';
import type { FeedScan } from '../ports/timeline-store.js';
import { addActivities } from './add-activities.js';
import { TimeSource, type Services } from './context.js';
import { follow } from './follows.js';

/**
 * `follow_many` of thousands of sources to one target copies the same history into each: the
 * target's newest entries are scanned once per target (as deep as the deepest request), not once
 * per follow. A scan per follow made 2,500 follows of one 1,000-activity feed read 5 million entries
 * on the main thread, which then answered nothing (not even /healthz) for tens of seconds.
 */
describe('follow (follows.ts): history copies', () => {
  const store = new SqliteStore(':memory:');
  const app = parseConfig(newAppConfig(), '/tmp').apps[0];
  const scans: FeedScan[][] = [];
  const ports = store.ports;
  const scanMany = ports.timelines.scanMany.bind(ports.timelines);
  ports.timelines.scanMany = (appId: string, list: readonly FeedScan[]) => {
    scans.push([...list]);
    return scanMany(appId, list);
  };
  const s: Services = {
    ports,
    signalStore: store.signals,
    clock: new TimeSource({ nowUs: () => Date.now() * 1000 }),
    fanout: { inlineMaxFollowers: 1000, chunkSize: 100, pullMinFollowers: 10_000 },
    onJobsEnqueued: () => {},
  };
  const posted: Record<string, string[]> = {};
  before(async () => {
    for (const [user, n] of [['a', 30], ['b', 4], ['c', 1000]] as const) {
      posted[user] = [];
      for (let k = 0; k < n; k += 100) {
        const acts = await addActivities(s, app, parseFeedId(`user:${user}`), Array.from({ length: Math.min(100, n - k) }, (_, i) => ({ actor: `SU:${user}`, verb: 'post', object: `o:${k + i}` })), false);
        posted[user].push(...acts.map((x) => x.id));
      }
      posted[user].sort().reverse();
    }
  });
  after(() => store.close());

  const feed = async (fid: string) => (await scanMany(app.appId, [{ feed: fid, limit: 1000 }]))[0].map((e) => e.id);

  it('scans each target once per phase and gives every follower its own copy limit', async () => {
    scans.length = 0;
    const requests = [
      ...Array.from({ length: 300 }, (_, i) => ({ source: parseFeedId(`timeline:many${i}`), target: parseFeedId('user:a'), copyLimit: 1000 })),
      { source: parseFeedId('timeline:few'), target: parseFeedId('user:a'), copyLimit: 5 },
      { source: parseFeedId('timeline:none'), target: parseFeedId('user:a'), copyLimit: 0 },
      { source: parseFeedId('timeline:many0'), target: parseFeedId('user:b'), copyLimit: 2 },
    ];
    await follow(s, app, requests);
    const scanned = scans.flat().map((x) => `${x.feed}/${x.limit}`);
    assert.deepEqual(scanned.sort(), ['user:a/1000', 'user:a/1000', 'user:b/2', 'user:b/2']);
    assert.deepEqual(await feed('timeline:many7'), posted.a);
    assert.deepEqual(await feed('timeline:many299'), posted.a);
    assert.deepEqual(await feed('timeline:few'), posted.a.slice(0, 5));
    assert.deepEqual(await feed('timeline:none'), []);
    assert.deepEqual((await feed('timeline:many0')).sort(), [...posted.a, ...posted.b.slice(0, 2)].sort());
  });

  it('copies more history than one slice holds completely, into every follower', async () => {
    // 150 follows of 1,000 activities: 150,000 entries, applied in more than one piece.
    await follow(s, app, Array.from({ length: 150 }, (_, i) => ({ source: parseFeedId(`timeline:big${i}`), target: parseFeedId('user:c'), copyLimit: 1000 })));
    for (const i of [0, 1, 99, 100, 101, 149]) assert.deepEqual(await feed(`timeline:big${i}`), posted.c, `timeline:big${i}`);
    const followers = await store.ports.follows.followerPage(app.appId, 'user:c', null, 1);
    assert.equal(followers.total, 150);
  });
});
