import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { event, suite, type SignalBackend } from './signal-support.js';

/** The {@link EventLog} contract: append through commit, read by seq, de-duplicate, sweep. */
export function eventLogContract(name: string, makeStore: () => Promise<SignalBackend>, skip: Record<string, string> = {}): void {
  describe(`event log contract: ${name}`, () => {
    const { store, app, test } = suite(makeStore, skip);

    test('appends events in commit order with increasing seq', async () => {
      await store().signals.recordSignals(app(), { events: [{ event: event('u1', 'click'), dedupeKey: 'k1', dedupeUntilUs: 9e15 }] });
      await store().signals.recordSignals(app(), {
        events: [
          { event: event('u2', 'like', { features: ['loc:home'], position: 3, feedId: 'timeline:u2' }), dedupeKey: 'k2', dedupeUntilUs: 9e15 },
          { event: event('u1', 'share'), dedupeKey: 'k3', dedupeUntilUs: 9e15 },
        ],
      });
      const all = await store().signals.readEvents(app(), 0, 10);
      assert.deepEqual(all.map((e) => e.label), ['click', 'like', 'share']);
      assert.ok(all[0].seq < all[1].seq && all[1].seq < all[2].seq);
      assert.deepEqual(all[1].features, ['loc:home']);
      assert.equal(all[1].position, 3);
      assert.equal(all[1].feedId, 'timeline:u2');
      const after = await store().signals.readEvents(app(), all[0].seq, 1);
      assert.deepEqual(after.map((e) => e.label), ['like']);
    });

    test('keeps apps apart', async () => {
      await store().signals.recordSignals(app(), { events: [{ event: event('u1', 'click'), dedupeKey: 'k', dedupeUntilUs: 9e15 }] });
      await store().signals.recordSignals(`${app()}-other`, { events: [{ event: event('u1', 'click'), dedupeKey: 'k', dedupeUntilUs: 9e15 }] });
      assert.equal((await store().signals.readEvents(app(), 0, 10)).length, 1);
      assert.equal((await store().signals.readEvents(`${app()}-other`, 0, 10)).length, 1);
    });

    test('a live de-duplication key drops the retry and its effects', async () => {
      const effects = [{ op: 'add' as const, user: 'u1', dimension: 'tag' as const, key: '#ski', source: 'computed' as const, delta: 2, atUs: 1_000_000, halfLifeUs: 1e12 }];
      const w = { event: event('u1', 'like'), dedupeKey: 'same', dedupeUntilUs: 5_000_000, effects };
      await store().signals.recordSignals(app(), { events: [w] });
      await store().signals.recordSignals(app(), { events: [{ ...w, event: event('u1', 'like') }] });
      assert.equal((await store().signals.readEvents(app(), 0, 10)).length, 1);
      const p = await store().signals.profilesOf(app(), ['u1']);
      assert.equal(p.get('u1')?.[0].weight, 2);
      // Past its window the same key is a new event.
      await store().signals.recordSignals(app(), { events: [{ ...w, event: event('u1', 'like', { receivedUs: 6_000_000, trackedUs: 6_000_000 }) }] });
      assert.equal((await store().signals.readEvents(app(), 0, 10)).length, 2);
    });

    test('duplicates inside one commit count once', async () => {
      const w = { event: event('u1', 'like'), dedupeKey: 'dup', dedupeUntilUs: 9e15 };
      await store().signals.recordSignals(app(), { events: [w, { ...w, event: event('u1', 'like') }] });
      assert.equal((await store().signals.readEvents(app(), 0, 10)).length, 1);
    });

    test('counts events whose content resolved to nothing', async () => {
      await store().signals.recordSignals(app(), {
        events: [
          { event: event('u1', 'click', { activity: null, foreignId: 'post:9' }), dedupeKey: 'o1', dedupeUntilUs: 9e15 },
          { event: event('u1', 'click'), dedupeKey: 'o2', dedupeUntilUs: 9e15 },
        ],
      });
      assert.equal(await store().signals.orphanCount(app()), 1);
    });

    test('retention deletes old events in bounded steps and never reuses seq', async () => {
      const events = [1, 2, 3, 4].map((t) => ({ event: event('u1', 'click', { receivedUs: t * 1000 }), dedupeKey: `r${t}`, dedupeUntilUs: t * 1000 + 10 }));
      await store().signals.recordSignals(app(), { events });
      assert.equal(await store().signals.sweepEvents(app(), 3500, 5000, 2), 2);
      assert.equal(await store().signals.sweepEvents(app(), 3500, 5000, 2), 1);
      assert.equal(await store().signals.sweepEvents(app(), 3500, 5000, 2), 0);
      const left = await store().signals.readEvents(app(), 0, 10);
      assert.equal(left.length, 1);
      await store().signals.recordSignals(app(), { events: [{ event: event('u1', 'click', { receivedUs: 9000 }), dedupeKey: 'r9', dedupeUntilUs: 9e15 }] });
      const next = await store().signals.readEvents(app(), left[0].seq, 10);
      assert.equal(next.length, 1);
      assert.ok(next[0].seq > left[0].seq);
    });

    test('an event whose call fails is not stored', async () => {
      const w = { event: event('u1', 'click'), dedupeKey: 'atomic', dedupeUntilUs: 9e15 };
      // A malformed part of the same call (a retry time that is not a number) must not leave the event behind.
      await assert.rejects(store().signals.recordSignals(app(), { events: [w], contentRetry: [{ jobId: 1, notBeforeUs: {} as unknown as number }] }));
      assert.equal((await store().signals.readEvents(app(), 0, 10)).length, 0);
    });
  });
}
