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
  });
}
