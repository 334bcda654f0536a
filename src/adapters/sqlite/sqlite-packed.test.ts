import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { ReactionRecord } from '../../ports/reaction-store.js';
import { activityAt, T0 } from '../../../test/contract/ports-support.js';
import { intOf, packed, unpack } from './sqlite-packed.js';
import { SqliteStore } from './sqlite-store.js';

test('packed rows come back as one text of their values; a value holding the separator makes the caller read them unpacked', () => {
  const db = new Database(':memory:');
  try {
    db.exec("CREATE TABLE t (a TEXT NOT NULL, b INTEGER NOT NULL); INSERT INTO t VALUES ('x', 1), ('', 22), ('long enough to be a slice', 1714557600000001)");
    const st = db.prepare(packed(['a', 'b'], 'FROM t WHERE b >= ?')).pluck();
    assert.deepEqual(unpack(st.get(0) as string, 2), ['3', 'x', '1', '', '22', 'long enough to be a slice', '1714557600000001']);
    assert.deepEqual(unpack(st.get(1e16) as string, 2), []);
    db.exec("INSERT INTO t VALUES ('a\x1fb', 5)");
    assert.equal(unpack(st.get(0) as string, 2), null);
    assert.deepEqual(unpack(st.get(6) as string, 2), ['2', '', '22', 'long enough to be a slice', '1714557600000001']);
  } finally {
    db.close();
  }
});

test('users, collection objects, reactions and counts read the same whether packed or, with separators in their values, unpacked', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const p = store.ports;
    const app = 'app';
    // Through the storage ports, which do not validate ids as the API does.
    for (const odd of ['', '\x1f']) {
      const users = [
        { id: 'ann', data: '{"name":"Ann"}', createdUs: T0, updatedUs: T0 + 1 },
        { id: `bob${odd}`, data: '{"name":"B\\u001fb","n":[1,2]}', createdUs: T0 + 2, updatedUs: T0 + 3 },
      ];
      await p.users.putUsers(app, users, 'replace');
      const gotUsers = await p.users.getUsers(app, ['ann', `bob${odd}`, 'nobody', 'ann']);
      assert.deepEqual([...gotUsers.values()].sort((a, b) => (a.id < b.id ? -1 : 1)), users);

      const entries = [
        { collection: 'food', id: `soup${odd}`, userId: null, data: '{"hot":true}', createdUs: T0, updatedUs: T0 },
        { collection: 'food', id: 'salad', userId: '', data: '{}', createdUs: T0 + 1, updatedUs: T0 + 2 },
        { collection: 'drink', id: 'tea', userId: 'ann', data: '{"cups":2}', createdUs: T0 + 3, updatedUs: T0 + 4 },
      ];
      await p.collections.putEntries(app, entries, 'replace');
      const refs = [...entries.map((e) => ({ collection: e.collection, id: e.id })), { collection: 'food', id: 'none' }, { collection: 'drink', id: 'tea' }];
      const gotEntries = await p.collections.getEntries(app, refs);
      assert.deepEqual(new Map([...gotEntries].sort()), new Map(entries.map((e) => [`${e.collection}:${e.id}`, e] as const).sort()));
    }

    const act = activityAt(1, 'user:a');
    await p.intents.commit(app, [{ activity: act }]);
    const base = { activityId: act.id, parent: '', depth: 1, data: '{"text":"hi"}', targetFeeds: [] as string[], updatedUs: T0 + 9, deletedUs: null };
    const reactions: ReactionRecord[] = [
      { ...base, id: 'r1', kind: 'like', userId: 'ann', createdUs: T0 + 1 },
      { ...base, id: 'r2', kind: 'comment', userId: 'bob', createdUs: T0 + 2, targetFeeds: ['user:ann', 'timeline:bob'] },
      { ...base, id: 'r3', kind: 'like', userId: 'ann', createdUs: T0 + 3, deletedUs: T0 + 4 },
      { ...base, id: 'c1', kind: 'reply', userId: 'ann', createdUs: T0 + 5, parent: 'r2', depth: 2 },
    ];
    await p.intents.commit(app, [{ reactions: { add: reactions } }]);
    const check = async (all: ReactionRecord[]) => {
      const byId = new Map(all.map((r) => [r.id, r]));
      assert.deepEqual(await p.reactions.getReactions(app, ['r1', 'r2', 'r3', 'c1', 'none']), new Map(['r1', 'r2', 'c1'].map((id) => [id, byId.get(id)])));
      assert.deepEqual((await p.reactions.getReactions(app, ['r3'], true)).get('r3'), byId.get('r3'));
      const live = all.filter((r) => r.deletedUs === null && r.parent === '').sort((a, b) => b.createdUs - a.createdUs);
      assert.deepEqual(await p.reactions.latestReactions(app, { owners: [act.id], of: 'activity', perKind: 5 }), live);
      assert.deepEqual(await p.reactions.latestReactions(app, { owners: [act.id], of: 'activity', perKind: 5, userId: 'ann' }), live.filter((r) => r.userId === 'ann'));
      assert.deepEqual(await p.reactions.latestReactions(app, { owners: ['r2'], of: 'reaction', perOwner: 5 }), [byId.get('c1')]);
      const counts = await p.reactions.reactionCounts(app, [act.id, 'r2', 'none'], 'activity');
      assert.deepEqual(counts, new Map([[act.id, Object.fromEntries(live.map((r) => r.kind).sort().map((k) => [k, live.filter((r) => r.kind === k).length]))]]));
      assert.deepEqual(await p.reactions.reactionCounts(app, ['r2'], 'reaction'), new Map([['r2', { reply: 1 }]]));
    };
    await check(reactions);
    // A user id holding the separator: the same reactions, read unpacked.
    const odd = { ...base, id: 'r4', kind: 'like', userId: 'x\x1fy', createdUs: T0 + 6 };
    await p.intents.commit(app, [{ reactions: { add: [odd] } }]);
    await check([...reactions, odd]);
  } finally {
    store.close();
  }
});

test('integers read digit by digit are the numbers the parser gives', () => {
  for (const n of [0, 7, -7, 42, 1714557600000001, -1714557600000001, 9007199254740991, -9007199254740991, 123456789012345]) assert.equal(intOf(String(n)), n);
  for (const t of ['9007199254740993', '99999999999999999', '-99999999999999999', '123456789012345678901']) assert.equal(intOf(t), Number(t));
});
