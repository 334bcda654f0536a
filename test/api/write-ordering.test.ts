// Concurrent posts, follows and unfollows through the official getstream client. Writes share
// group commits (one transaction for the batches of an event-loop turn), so a follow can be read
// and committed while a post's fan-out waits for its commit. Whatever the interleaving, every
// follower must end with exactly the activities of the feeds it follows: none missed (neither
// copied by the follow nor fanned out by the post) and none left behind by an unfollow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamClient } from 'getstream';
import { parseFeedId } from '../../src/core/feeds/feed-id.js';
import { addActivities } from '../../src/services/add-activities.js';
import { follow, unfollow } from '../../src/services/follows.js';
import { startServer, uid, type TestServer } from '../support/server.js';

/** A reproducible shuffle (mulberry32), so a failing order can be replayed. */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const AUTHORS = 4;
const FOLLOWERS = 12;
const POSTS_BEFORE = 2;
const POSTS_DURING = 8;

/**
 * Runs one round: every author posts a little, half the follower–author pairs are followed first;
 * then, all at once in a shuffled order, the other half is followed, a third of the followed half
 * unfollowed, and every author posts more, one activity per request. Checks each follower's
 * timeline against what it follows at the end.
 */
async function round(t: TestServer, client: StreamClient, seed: number, settle: () => Promise<void>): Promise<void> {
  const tag = uid('o');
  const authors = Array.from({ length: AUTHORS }, (_, i) => `${tag}-a${i}`);
  const followers = Array.from({ length: FOLLOWERS }, (_, i) => `${tag}-f${i}`);
  const posted = new Map<string, string[]>(authors.map((a) => [a, []]));
  const postOne = async (a: string, n: number) => {
    const res = (await client.feed('user', a).addActivity({ actor: `SU:${a}`, verb: 'post', object: `${a}:${n}` })) as { id: string };
    posted.get(a)!.push(res.id);
  };
  for (const a of authors) for (let n = 0; n < POSTS_BEFORE; n++) await postOne(a, n);

  const pairs = followers.flatMap((f) => authors.map((a) => ({ f, a })));
  const [early, late] = [pairs.filter((_, i) => i % 2 === 0), pairs.filter((_, i) => i % 2 === 1)];
  for (const { f, a } of early) await client.feed('timeline', f).follow('user', a);
  const dropped = early.filter((_, i) => i % 3 === 0);

  const ops: (() => Promise<unknown>)[] = [
    ...late.map(({ f, a }) => () => client.feed('timeline', f).follow('user', a)),
    ...dropped.map(({ f, a }) => () => client.feed('timeline', f).unfollow('user', a)),
    ...authors.flatMap((a) => Array.from({ length: POSTS_DURING }, (_, n) => () => postOne(a, POSTS_BEFORE + n))),
  ];
  await Promise.all(shuffled(ops, seed).map((op) => op()));
  await settle();

  const droppedSet = new Set(dropped.map(({ f, a }) => `${f}>${a}`));
  for (const f of followers) {
    const follows = authors.filter((a) => pairs.some((p) => p.f === f && p.a === a) && !droppedSet.has(`${f}>${a}`));
    const want = follows.flatMap((a) => posted.get(a)!.map((id) => `${id} from user:${a}`)).sort();
    const res = await client.feed('timeline', f).get({ limit: 100 });
    const got = (res.results as unknown as { id: string; origin: string }[]).map((r) => `${r.id} from ${r.origin}`).sort();
    assert.deepEqual(got, want, `timeline:${f} (round seed ${seed})`);
  }
}

/** Runs `first` and `second` in the same check phase, `second` after `first` handed its write over. */
function backToBack(first: () => Promise<unknown>, second: () => Promise<unknown>): Promise<unknown[]> {
  // Both callbacks run in this check phase, while the group commit `first` schedules runs in the
  // next one: `second` reads and commits while `first`'s batch still waits for its commit.
  const a = new Promise<unknown>((resolve, reject) => setImmediate(() => first().then(resolve, reject)));
  const b = new Promise<unknown>((resolve, reject) => setImmediate(() => second().then(resolve, reject)));
  return Promise.all([a, b]);
}

describe('write ordering under concurrent posts, follows and unfollows', () => {
  describe('a use case started while another one’s batch waits for its group commit', () => {
    let t: TestServer;
    before(async () => {
      t = await startServer();
    });
    after(async () => t.close());

    const timeline = async (f: string) =>
      ((await t.client().feed('timeline', f).get({ limit: 100 })).results as unknown as { id: string; origin: string }[]).map(
        (r) => `${r.id} from ${r.origin}`,
      );

    it('a follow right after a post copies the post (the post planned its fan-out without the follower)', async () => {
      const [a, f] = [uid('a'), uid('f')];
      const app = t.rivulet.apps.get(t.appId)!;
      const s = t.rivulet.services;
      const [posted] = await backToBack(
        () => addActivities(s, app, parseFeedId(`user:${a}`), [{ actor: 'x', verb: 'post', object: 'o' }], false),
        () => follow(s, app, [{ source: parseFeedId(`timeline:${f}`), target: parseFeedId(`user:${a}`), copyLimit: 100 }]),
      );
      const id = (posted as { id: string }[])[0].id;
      assert.deepEqual(await timeline(f), [`${id} from user:${a}`]);
    });

    it('a post right after an unfollow does not reach the former follower', async () => {
      const [a, f] = [uid('a'), uid('f')];
      const app = t.rivulet.apps.get(t.appId)!;
      const s = t.rivulet.services;
      await t.client().feed('timeline', f).follow('user', a);
      await backToBack(
        () => unfollow(s, app, [{ source: parseFeedId(`timeline:${f}`), target: parseFeedId(`user:${a}`), keepHistory: false }]),
        () => addActivities(s, app, parseFeedId(`user:${a}`), [{ actor: 'x', verb: 'post', object: 'o' }], false),
      );
      assert.deepEqual(await timeline(f), []);
    });

    it('a post right after a follow reaches the new follower', async () => {
      const [a, f] = [uid('a'), uid('f')];
      const app = t.rivulet.apps.get(t.appId)!;
      const s = t.rivulet.services;
      const [, posted] = await backToBack(
        () => follow(s, app, [{ source: parseFeedId(`timeline:${f}`), target: parseFeedId(`user:${a}`), copyLimit: 100 }]),
        () => addActivities(s, app, parseFeedId(`user:${a}`), [{ actor: 'x', verb: 'post', object: 'o' }], false),
      );
      const id = (posted as { id: string }[])[0].id;
      assert.deepEqual(await timeline(f), [`${id} from user:${a}`]);
    });
  });

  describe('inline fan-out (in the post’s own commit)', () => {
    let t: TestServer;
    before(async () => {
      t = await startServer();
    });
    after(async () => t.close());

    for (const seed of [1, 2, 3, 4, 5]) {
      it(`every follower has exactly the activities it follows (seed ${seed})`, async () => {
        await round(t, t.client(), seed, async () => {});
      });
    }
  });

  describe('queued fan-out (drained by the worker)', () => {
    let t: TestServer;
    before(async () => {
      // Authors with more than 2 followers go through the durable queue.
      t = await startServer({ fanout: { inline_max_followers: 2 }, worker: 'manual' });
    });
    after(async () => t.close());

    for (const seed of [6, 7, 8]) {
      it(`every follower has exactly the activities it follows (seed ${seed})`, async () => {
        await round(t, t.client(), seed, async () => {
          await t.rivulet.worker!.drainAll();
        });
      });
    }
  });
});
