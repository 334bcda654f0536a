import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FeedEvent, PubSub } from '../../src/ports/pubsub.js';

/**
 * Two handles on one pubsub: `a` and `b` stand for two processes (nodes) of one deployment. An
 * adapter that lives in one process gives the same object twice.
 */
export interface PubSubUnderTest {
  readonly a: PubSub;
  readonly b: PubSub;
  close(): Promise<void>;
}

/** An event of `feed`; `n` (1–9) tells events of one feed apart, in the time it was published. */
const event = (app: string, feed: string, n = 0): FeedEvent => ({
  app,
  feed,
  message: { feed, app_id: app, new: [], deleted: [], deleted_foreign_ids: [], published_at: `2024-05-01T10:00:00.00000${n}Z` },
});

/** Resolves once `cond` holds (delivery over a network takes a moment); fails after `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The contract of {@link PubSub} (src/ports/pubsub.ts), run unchanged against each adapter:
 * listener counts per feed and app, seen from every node once synced; delivery in order to every
 * subscriber of a node that watches the event's feed, until it stops. `skip` names cases an adapter cannot run, each with its reason.
 */
export function pubsubContract(adapter: string, make: () => Promise<PubSubUnderTest>, skip: Readonly<Record<string, string>> = {}): void {
  describe(`pubsub contract: ${adapter}`, () => {
    let h: PubSubUnderTest;
    let n = 0;
    before(async () => {
      h = await make();
    });
    after(async () => h.close());
    const titles = new Set<string>();
    const test = (title: string, fn: (a: PubSub, b: PubSub, app: string) => Promise<void>) => {
      titles.add(title);
      if (skip[title]) it(title, { skip: skip[title] }, () => {});
      else it(title, async () => fn(h.a, h.b, `app${++n}`));
    };
    const synced = async (p: PubSub) => p.synced?.();

    test('counts listeners per feed and per app, on every node once synced', async (a, b, app) => {
      assert.equal(a.hasWatchers(app), false);
      a.watch(app, 'user:a');
      a.watch(app, 'user:a');
      await synced(a);
      await until(() => b.isWatched(app, 'user:a'));
      assert.equal(a.isWatched(app, 'user:a'), true);
      assert.equal(b.hasWatchers(app), true);
      assert.deepEqual(b.watchedFeeds(app), ['user:a']);
      assert.equal(b.isWatched(`${app}x`, 'user:a'), false, 'apps are apart');
      a.unwatch(app, 'user:a');
      await synced(a);
      assert.equal(a.isWatched(app, 'user:a'), true, 'one listener is left');
      a.unwatch(app, 'user:a');
      a.unwatch(app, 'user:a'); // one too many: ignored
      await synced(a);
      await until(() => !b.isWatched(app, 'user:a'));
      assert.equal(a.isWatched(app, 'user:a'), false);
      assert.equal(a.hasWatchers(app), false);
      assert.deepEqual(a.watchedFeeds(app), []);
      a.watch(app, 'user:a');
      await synced(a);
      await until(() => b.isWatched(app, 'user:a'));
      assert.equal(a.isWatched(app, 'user:a'), true, 'counting restarts from zero');
      a.unwatch(app, 'user:a');
      await synced(a);
    });

    test('delivers the events of one node to every subscriber of a node that watches their feed, in order within a feed, until it stops', async (a, b, app) => {
      const feeds = ['user:1', 'user:2', 'user:3', 'user:4'];
      // A networked adapter carries an event only to the nodes that watch its feed. Events of
      // different feeds may travel on different channels (sharded pub/sub), so only the events of
      // one feed have an order.
      for (const f of feeds) b.watch(app, f);
      await synced(b);
      await until(() => feeds.every((f) => a.isWatched(app, f)));
      const got: string[] = [];
      const mine = (e: FeedEvent) => e.app === app;
      const name = (who: string, e: FeedEvent) => `${who}:${e.feed}:${e.message.published_at.slice(-2, -1)}`;
      const stop = a.subscribe((e) => mine(e) && got.push(name('a', e)));
      const stopB = b.subscribe((e) => mine(e) && got.push(name('b', e)));
      try {
        await a.publish([event(app, 'user:1', 1), event(app, 'user:2', 1)]);
        await a.publish([event(app, 'user:1', 2), event(app, 'user:3', 1)]);
        await until(() => got.length === 8);
        for (const who of ['a', 'b']) {
          const seen = got.filter((x) => x.startsWith(`${who}:`));
          assert.deepEqual([...seen].sort(), [`${who}:user:1:1`, `${who}:user:1:2`, `${who}:user:2:1`, `${who}:user:3:1`]);
          assert.deepEqual(
            seen.filter((x) => x.startsWith(`${who}:user:1:`)),
            [`${who}:user:1:1`, `${who}:user:1:2`],
            'the events of one feed arrive in the order they were published',
          );
        }
        stop();
        await a.publish([event(app, 'user:4', 1)]);
        await until(() => got.length === 9);
        assert.deepEqual(got.slice(8), ['b:user:4:1'], 'a stopped subscriber hears nothing more');
      } finally {
        stop();
        stopB();
        for (const f of feeds) b.unwatch(app, f);
        await synced(b);
      }
    });

    test('a subscriber that throws does not keep the event from the others', async (a, _b, app) => {
      a.watch(app, 'user:1');
      await synced(a);
      const got: string[] = [];
      const stop1 = a.subscribe(() => {
        throw new Error('broken listener');
      });
      const stop2 = a.subscribe((e) => e.app === app && got.push(e.feed));
      try {
        await a.publish([event(app, 'user:1')]).catch(() => {});
        await until(() => got.length === 1);
        assert.deepEqual(got, ['user:1']);
      } finally {
        stop1();
        stop2();
        a.unwatch(app, 'user:1');
        await synced(a);
      }
    });

    test('control links: a message reaches every other link, in order, and not its sender', async (a, b, app) => {
      if (!a.openControl || !b.openControl) return;
      const onA: unknown[] = [];
      const onB: unknown[] = [];
      const linkA = a.openControl((m) => (m as { app?: string }).app === app && onA.push(m));
      const linkB = b.openControl((m) => (m as { app?: string }).app === app && onB.push(m));
      try {
        for (let i = 1; i <= 3; i++) linkA.send({ app, i });
        linkB.send({ app, i: 'b' });
        await until(() => onB.length === 3 && onA.length === 1);
        assert.deepEqual(onB, [1, 2, 3].map((i) => ({ app, i })));
        assert.deepEqual(onA, [{ app, i: 'b' }]);
        linkB.close();
        linkA.send({ app, i: 4 });
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(onB.length, 3, 'a closed link hears nothing more');
      } finally {
        linkA.close();
        linkB.close();
      }
    });

    for (const title of Object.keys(skip)) {
      if (!titles.has(title)) throw new Error(`pubsub contract: the skip list names an unknown case "${title}"`);
    }
  });
}
