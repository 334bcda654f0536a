import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { activityId } from '../../src/core/activities/activity-id.js';
import type { Store } from '../../src/ports/store.js';
import type { UserDataIndex } from '../../src/ports/user-data.js';

/**
 * The contract every {@link UserDataIndex} adapter satisfies, over data written through the
 * adapter's own store; `skip` names tests with their reason.
 */
export function userDataContract(name: string, make: () => Promise<{ index: UserDataIndex; store: Store; close(): Promise<void> }>, skip: Record<string, string> = {}): void {
  describe(`user data contract: ${name}`, () => {
    let index: UserDataIndex;
    let store: Store;
    let close: () => Promise<void>;
    let n = 0;
    before(async () => {
      ({ index, store, close } = await make());
    });
    after(async () => close());
    const test = (title: string, fn: () => Promise<void>) => it(title, skip[title] ? { skip: skip[title] } : {}, fn);
    const act = (t: number, actor: string) => {
      const id = activityId(t, `c${t}-${actor}`);
      return { id, timeUs: t, foreignId: '', to: [], body: JSON.stringify({ id, actor, verb: 'post', object: 'o' }), home: 'user:x' };
    };

    test('lists the activities of one actor oldest first, paging after an id', async () => {
      const app = `app${++n}`;
      const mine = [act(3000, 'SU:alice'), act(1000, 'SU:alice'), act(2000, 'SU:alice')];
      await store.commit(app, { activities: [...mine, act(1500, 'SU:bob'), act(2500, 'alice')] });
      const sorted = [mine[1], mine[2], mine[0]].map((a) => a.id);
      assert.deepEqual(await index.activityIdsByActor(app, 'SU:alice', null, 10), sorted);
      assert.deepEqual(await index.activityIdsByActor(app, 'SU:alice', sorted[0], 1), [sorted[1]]);
      assert.deepEqual(await index.activityIdsByActor(app, 'alice', null, 10), [act(2500, 'alice').id]);
      assert.deepEqual(await index.activityIdsByActor('other', 'SU:alice', null, 10), []);
    });

    test('lists the collection entries a user owns', async () => {
      const app = `app${++n}`;
      const e = (id: string, userId: string | null) => ({ collection: 'food', id, data: '{"a":1}', userId, createdUs: 1, updatedUs: 1 });
      await store.putEntries(app, [e('1', 'alice'), e('2', 'bob'), e('3', 'alice'), e('4', null)], 'keep');
      const owned = await index.entriesOwnedBy(app, 'alice', 10);
      assert.deepEqual(owned.map((r) => `${r.collection}:${r.id}`).sort(), ['food:1', 'food:3']);
      assert.equal((await index.entriesOwnedBy(app, 'alice', 1)).length, 1);
    });
  });
}
