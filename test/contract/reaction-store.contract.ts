import assert from 'node:assert/strict';
import type { ReactionRecord } from '../../src/ports/reaction-store.js';
import { activityAt, portContract, T0, type PortsFactory } from './ports-support.js';

/** The contract of {@link ReactionStore} (docs/storage-ports.md): reactions written in steps, read in one call each. */
export function reactionStoreContract(adapter: string, makePorts: PortsFactory, skip: Readonly<Record<string, string>> = {}): void {
  portContract('reaction store', adapter, makePorts, skip, (test) => {
    const act = activityAt(1, 'user:a');
    const other = activityAt(2, 'user:a');
    const r = (id: string, s: number, fields: Partial<ReactionRecord> = {}): ReactionRecord => ({
      id,
      kind: 'like',
      activityId: act.id,
      userId: 'bob',
      parent: '',
      depth: 1,
      data: `{"n":${s}}`,
      targetFeeds: [],
      createdUs: T0 + s,
      updatedUs: T0 + s,
      deletedUs: null,
      ...fields,
    });

    test('reactions and their counts: add, update, soft delete, restore, remove', async (p, app) => {
      await p.intents.commit(app, [{ activity: act }, { activity: other }]);
      await p.intents.commit(app, [{ reactions: { add: [r('l1', 1), r('l2', 2, { userId: 'carl' }), r('c1', 3, { kind: 'comment' })] } }]);
      await p.intents.commit(app, [{ reactions: { add: [r('o1', 4, { activityId: other.id })] } }]);
      const counts = await p.reactions.reactionCounts(app, [act.id, other.id, 'none'], 'activity');
      assert.deepEqual(Object.fromEntries(counts), { [act.id]: { like: 2, comment: 1 }, [other.id]: { like: 1 } });
      await p.intents.commit(app, [{ reactions: { update: [r('l1', 1, { data: '{"v":2}', targetFeeds: ['user:x'], updatedUs: T0 + 9 })] } }]);
      const got = await p.reactions.getReactions(app, ['l1', 'o1', 'nope']);
      assert.deepEqual([...got.keys()].sort(), ['l1', 'o1']);
      assert.deepEqual(got.get('l1'), { ...r('l1', 1), data: '{"v":2}', targetFeeds: ['user:x'], updatedUs: T0 + 9 });
      const soft = { reaction: r('l2', 2, { userId: 'carl' }), deletedUs: T0 + 20 };
      await p.intents.commit(app, [{ reactions: { softDelete: [soft] } }]);
      await p.intents.commit(app, [{ reactions: { softDelete: [soft] } }]); // twice = once
      assert.deepEqual((await p.reactions.reactionCounts(app, [act.id], 'activity')).get(act.id), { like: 1, comment: 1 });
      assert.equal((await p.reactions.getReactions(app, ['l2'])).size, 0);
      assert.equal((await p.reactions.getReactions(app, ['l2'], true)).get('l2')?.deletedUs, T0 + 20);
      const deleted = { ...r('l2', 2, { userId: 'carl' }), deletedUs: T0 + 20 };
      await p.intents.commit(app, [{ reactions: { restore: [deleted] } }]);
      await p.intents.commit(app, [{ reactions: { restore: [{ ...deleted, deletedUs: null }] } }]);
      assert.deepEqual((await p.reactions.reactionCounts(app, [act.id], 'activity')).get(act.id), { like: 2, comment: 1 });
      await p.intents.commit(app, [{ reactions: { remove: [r('c1', 3, { kind: 'comment' })] } }]);
      await p.intents.commit(app, [{ reactions: { remove: [r('c1', 3, { kind: 'comment' })] } }]);
      assert.deepEqual((await p.reactions.reactionCounts(app, [act.id], 'activity')).get(act.id), { like: 2, comment: 0 });
      assert.equal((await p.reactions.getReactions(app, ['c1'], true)).size, 0);
    });

    test('listings by activity, user and parent, newest first or oldest first after a lower bound', async (p, app) => {
      await p.intents.commit(app, [{ activity: act }, { activity: other }]);
      await p.intents.commit(app, [{ reactions: { add: [r('a1', 1), r('a2', 2, { kind: 'comment' }), r('a3', 3)] } }]);
      await p.intents.commit(app, [{ reactions: { add: [r('b1', 4, { activityId: other.id })] } }]);
      await p.intents.commit(app, [{ reactions: { add: [r('k1', 5, { parent: 'a2', depth: 2, userId: 'dan' }), r('k2', 6, { parent: 'a2', depth: 2 })] } }]);
      await p.intents.commit(app, [{ reactions: { add: [r('g1', 7, { parent: 'k1', depth: 3 })] } }]);
      const list = async (q: object) => (await p.reactions.listReactions(app, { limit: 10, ...q } as never)).map((x) => x.id);
      assert.deepEqual(await list({ lookup: { by: 'activity_id', value: act.id } }), ['a3', 'a2', 'a1']);
      assert.deepEqual(await list({ lookup: { by: 'activity_id', value: act.id }, kind: 'like' }), ['a3', 'a1']);
      assert.deepEqual(await list({ lookup: { by: 'activity_id', value: act.id }, lt: { createdUs: T0 + 3, id: 'a3' } }), ['a2', 'a1']);
      assert.deepEqual(await list({ lookup: { by: 'activity_id', value: act.id }, gt: { createdUs: T0 + 1, id: 'a1' } }), ['a2', 'a3']);
      assert.deepEqual(await list({ lookup: { by: 'activity_id', value: act.id }, limit: 1 }), ['a3']);
      assert.deepEqual(await list({ lookup: { by: 'user_id', value: 'bob' } }), ['g1', 'k2', 'b1', 'a3', 'a2', 'a1']);
      assert.deepEqual(await list({ lookup: { by: 'user_id', value: 'bob' }, kind: 'comment' }), ['a2']);
      assert.deepEqual(await list({ lookup: { by: 'reaction_id', value: 'a2' } }), ['k2', 'k1']);
      assert.deepEqual(await list({ lookup: { by: 'reaction_id', value: 'a2' }, userId: 'dan' }), ['k1']);
      assert.deepEqual((await p.reactions.descendants(app, ['a2'])).map((x) => x.id).sort(), ['g1', 'k1', 'k2']);
      assert.deepEqual(Object.fromEntries(await p.reactions.reactionCounts(app, ['a2', 'k1'], 'reaction')), { a2: { like: 2 }, k1: { like: 1 } });
      const latest = await p.reactions.latestReactions(app, { owners: [act.id, other.id], of: 'activity', perKind: 1 });
      assert.deepEqual(latest.map((x) => x.id), ['b1', 'a3', 'a2']);
      const perOwner = await p.reactions.latestReactions(app, { owners: [act.id], of: 'activity', perOwner: 2, kinds: ['like'] });
      assert.deepEqual(perOwner.map((x) => x.id), ['a3', 'a1']);
      const children = await p.reactions.latestReactions(app, { owners: ['a2'], of: 'reaction', perOwner: 5, userId: 'dan' });
      assert.deepEqual(children.map((x) => x.id), ['k1']);
    });
  });
}
