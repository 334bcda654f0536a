import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { suite, type SignalBackend } from './signal-support.js';

/** The {@link SeenStore} contract: hide, show again, per user. */
export function seenStoreContract(name: string, makeStore: () => Promise<SignalBackend>, skip: Record<string, string> = {}): void {
  describe(`seen store contract: ${name}`, () => {
    const { store, app, test } = suite(makeStore, skip);

    test('hides per user, remembers where it was, and shows again', async () => {
      const placements = [{ feed: 'timeline:u1', origin: 'user:bob' }, { feed: 'user:u1', origin: null }];
      await store().signals.recordSignals(app(), { hides: [{ user: 'u1', activityId: 'a1', hidden: true, atUs: 7, placements }] });
      let got = await store().signals.hiddenOf(app(), 'u1', ['a1', 'a2']);
      assert.deepEqual([...got.keys()], ['a1']);
      assert.deepEqual(got.get('a1'), { activityId: 'a1', hiddenUs: 7, placements });
      assert.equal((await store().signals.hiddenOf(app(), 'u2', ['a1'])).size, 0);
      await store().signals.recordSignals(app(), { hides: [{ user: 'u1', activityId: 'a1', hidden: false, atUs: 8 }] });
      got = await store().signals.hiddenOf(app(), 'u1', ['a1']);
      assert.equal(got.size, 0);
    });

    test('answers for the ids asked about, whether the reader hid fewer or more activities than that', async () => {
      const hides = Array.from({ length: 6 }, (_, i) => ({ user: 'u3', activityId: `h${i}`, hidden: true, atUs: 10 + i, placements: [] }));
      await store().signals.recordSignals(app(), { hides });
      // Fewer asked about than hidden: only the asked ones that are hidden.
      let got = await store().signals.hiddenOf(app(), 'u3', ['h1', 'x', 'h4']);
      assert.deepEqual([...got.keys()].sort(), ['h1', 'h4']);
      assert.equal(got.get('h4')?.hiddenUs, 14);
      // More asked about than hidden: hidden ones not asked about stay out.
      got = await store().signals.hiddenOf(app(), 'u3', ['h0', 'h2', 'y1', 'y2', 'y3', 'y4', 'y5', 'y6', 'y7']);
      assert.deepEqual([...got.keys()].sort(), ['h0', 'h2']);
      // As many asked about as hidden.
      got = await store().signals.hiddenOf(app(), 'u3', ['h5', 'z1', 'z2', 'z3', 'z4', 'z5']);
      assert.deepEqual([...got.keys()], ['h5']);
    });
  });
}
