import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { activityId } from '../../src/core/activities/activity-id.js';
import type { StoragePorts } from '../../src/ports/storage.js';
import type { UserDataIndex } from '../../src/ports/user-data.js';

/**
 * The contract every {@link UserDataIndex} adapter satisfies, over data written through the
 * storage ports of the same backend; `skip` names tests with their reason.
 */
export function userDataContract(
  name: string,
  make: () => Promise<{ index: UserDataIndex; ports: Pick<StoragePorts, 'intents' | 'collections'>; close(): Promise<void> }>,
  skip: Record<string, string> = {},
): void {
  describe(`user data contract: ${name}`, () => {
    let index: UserDataIndex;
    let ports: Pick<StoragePorts, 'intents' | 'collections'>;
    let close: () => Promise<void>;
    let n = 0;
    before(async () => {
      ({ index, ports, close } = await make());
    });
    after(async () => close());
    const test = (title: string, fn: () => Promise<void>) => it(title, skip[title] ? { skip: skip[title] } : {}, fn);
    const act = (t: number, actor: string) => {
      const id = activityId(t, `c${t}`);
      return { id, timeUs: t, foreignId: '', to: [], body: JSON.stringify({ id, actor, verb: 'post', object: 'o' }), home: 'user:x' };
    };
    const commit = (app: string, acts: ReturnType<typeof act>[]) => ports.intents.commit(app, acts.map((activity) => ({ activity })));
    const entry = (id: string, userId: string | null) => ({ collection: 'food', id, data: '{"a":1}', userId, createdUs: 1, updatedUs: 1 });
    const refs = (list: { collection: string; id: string }[]) => list.map((r) => `${r.collection}:${r.id}`).sort();

    test('lists the activities of one actor oldest first, paging after an id', async () => {
      const app = `app${++n}`;
      const mine = [act(3000, 'SU:alice'), act(1000, 'SU:alice'), act(2000, 'SU:alice')];
      await commit(app, [...mine, act(1500, 'SU:bob'), act(2500, 'alice')]);
      const sorted = [mine[1], mine[2], mine[0]].map((a) => a.id);
      assert.deepEqual(await index.activityIdsByActor(app, 'SU:alice', null, 10), sorted);
      assert.deepEqual(await index.activityIdsByActor(app, 'SU:alice', sorted[0], 1), [sorted[1]]);
      assert.deepEqual(await index.activityIdsByActor(app, 'alice', null, 10), [act(2500, 'alice').id]);
      assert.deepEqual(await index.activityIdsByActor('other', 'SU:alice', null, 10), []);
    });

    test('an erased activity and one given another actor leave the actor’s list', async () => {
      const app = `app${++n}`;
      const [a, b, c] = [act(1000, 'SU:carol'), act(2000, 'SU:carol'), act(3000, 'SU:carol')];
      await commit(app, [a, b, c]);
      await ports.intents.commit(app, [{ erase: [a.id] }]);
      await commit(app, [{ ...b, body: JSON.stringify({ id: b.id, actor: 'SU:dave', verb: 'post', object: 'o' }) }]);
      assert.deepEqual(await index.activityIdsByActor(app, 'SU:carol', null, 10), [c.id]);
      assert.deepEqual(await index.activityIdsByActor(app, 'SU:carol', null, 1), [c.id], 'the limit counts matching activities only');
      assert.deepEqual(await index.activityIdsByActor(app, 'SU:dave', null, 10), [b.id]);
    });

    test('pages through more activities than one round reads', async () => {
      const app = `app${++n}`;
      const all = Array.from({ length: 1200 }, (_, i) => act(10_000 + i, 'SU:many'));
      await commit(app, all);
      const first = await index.activityIdsByActor(app, 'SU:many', null, 700);
      const rest = await index.activityIdsByActor(app, 'SU:many', first[first.length - 1], 1000);
      assert.deepEqual([...first, ...rest], all.map((a) => a.id));
    });

    test('lists the collection entries a user owns', async () => {
      const app = `app${++n}`;
      await ports.collections.putEntries(app, [entry('1', 'alice'), entry('2', 'bob'), entry('3', 'alice'), entry('4', null)], 'keep');
      assert.deepEqual(refs(await index.entriesOwnedBy(app, 'alice', 10)), ['food:1', 'food:3']);
      assert.equal((await index.entriesOwnedBy(app, 'alice', 1)).length, 1);
    });

    test('a deleted entry and one given another owner leave the owner’s list', async () => {
      const app = `app${++n}`;
      await ports.collections.putEntries(app, [entry('1', 'erin'), entry('2', 'erin'), entry('3', 'erin')], 'keep');
      await ports.collections.deleteEntries(app, [{ collection: 'food', id: '1' }]);
      await ports.collections.putEntries(app, [entry('2', 'frank')], 'replace');
      await ports.collections.putEntries(app, [entry('3', null)], 'replace');
      assert.deepEqual(refs(await index.entriesOwnedBy(app, 'erin', 10)), ['food:3'], 'a replace without an owner keeps the owner');
      assert.deepEqual(refs(await index.entriesOwnedBy(app, 'frank', 10)), ['food:2']);
    });
  });
}
