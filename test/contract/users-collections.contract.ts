import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CollectionStore, EntryRecord } from '../../src/ports/collection-store.js';
import type { UserRecord, UserStore } from '../../src/ports/user-store.js';

/** What the suite needs from a backend: the two ports and a way to release it. */
export type UsersCollectionsStore = UserStore & CollectionStore & { close(): Promise<void> };

/**
 * The contract of the user and collection ports (stream-v2-api.md §11, §12), run unchanged against
 * each adapter. `skip` names tests an adapter cannot run, each with its reason.
 */
export function usersCollectionsContract(
  name: string,
  makeStore: () => Promise<UsersCollectionsStore>,
  skip: Record<string, string> = {},
): void {
  describe(`users and collections contract: ${name}`, () => {
    let store: UsersCollectionsStore;
    let n = 0;
    const app = () => `app${n}`;
    before(async () => {
      store = await makeStore();
    });
    after(async () => store.close());

    const test = (title: string, fn: () => Promise<void>) => {
      if (skip[title]) it(title, { skip: skip[title] }, fn);
      else
        it(title, async () => {
          n++;
          await fn();
        });
    };

    const user = (id: string, t: number, data: object = { n: t }): UserRecord => ({ id, data: JSON.stringify(data), createdUs: t, updatedUs: t });
    const entry = (collection: string, id: string, t: number, userId: string | null = null, data: object = { n: t }): EntryRecord => ({
      collection,
      id,
      userId,
      data: JSON.stringify(data),
      createdUs: t,
      updatedUs: t,
    });

    // Users

    test('creates users and loads many by id in one call', async () => {
      const res = await store.putUsers(app(), [user('alice', 10), user('bob', 20)], 'keep');
      assert.deepEqual(res, [
        { record: user('alice', 10), created: true },
        { record: user('bob', 20), created: true },
      ]);
      const got = await store.getUsers(app(), ['bob', 'nobody', 'alice', 'bob']);
      assert.deepEqual([...got.keys()].sort(), ['alice', 'bob']);
      assert.deepEqual(got.get('alice'), user('alice', 10));
      assert.equal((await store.getUsers(app(), [])).size, 0);
      assert.equal((await store.getUsers('other-app', ['alice'])).size, 0, 'apps are isolated');
    });

    test('keep leaves an existing user untouched and says it was not created', async () => {
      await store.putUsers(app(), [user('alice', 10, { v: 1 })], 'keep');
      const [r] = await store.putUsers(app(), [user('alice', 99, { v: 2 })], 'keep');
      assert.equal(r.created, false);
      assert.deepEqual(r.record, user('alice', 10, { v: 1 }));
      assert.deepEqual((await store.getUsers(app(), ['alice'])).get('alice'), user('alice', 10, { v: 1 }));
    });

    test('replace overwrites data and updated time but keeps the creation time', async () => {
      await store.putUsers(app(), [user('alice', 10, { v: 1 })], 'keep');
      const res = await store.putUsers(app(), [user('alice', 50, { v: 2 }), user('carl', 50)], 'replace');
      assert.deepEqual(res, [
        { record: { id: 'alice', data: '{"v":2}', createdUs: 10, updatedUs: 50 }, created: false },
        { record: user('carl', 50), created: true },
      ]);
    });

    test('a repeated id in one put: the first wins under keep, the last under replace', async () => {
      const kept = await store.putUsers(app(), [user('a', 1, { v: 1 }), user('a', 1, { v: 2 })], 'keep');
      assert.deepEqual(kept.map((r) => [r.created, r.record.data]), [[true, '{"v":1}'], [false, '{"v":1}']]);
      const replaced = await store.putUsers(app(), [user('b', 1, { v: 1 }), user('b', 2, { v: 2 })], 'replace');
      assert.deepEqual(replaced.map((r) => [r.created, r.record.data]), [[true, '{"v":1}'], [false, '{"v":2}']]);
      assert.equal((await store.getUsers(app(), ['b'])).get('b')!.data, '{"v":2}');
    });

    test('user ids are case-sensitive', async () => {
      await store.putUsers(app(), [user('Alice', 1), user('alice', 2)], 'keep');
      const got = await store.getUsers(app(), ['Alice', 'alice', 'ALICE']);
      assert.equal(got.size, 2);
      assert.equal(got.get('Alice')!.createdUs, 1);
    });

    test('updates a user and reports a missing one', async () => {
      await store.putUsers(app(), [user('alice', 10)], 'keep');
      assert.deepEqual(await store.updateUser(app(), 'alice', '{"x":1}', 20), { id: 'alice', data: '{"x":1}', createdUs: 10, updatedUs: 20 });
      assert.equal(await store.updateUser(app(), 'nobody', '{}', 20), null);
      assert.equal(await store.updateUser('other-app', 'alice', '{}', 20), null);
    });

    test('deletes users, returning the ids that existed, and frees the id', async () => {
      await store.putUsers(app(), [user('a', 1), user('b', 1), user('c', 1)], 'keep');
      assert.deepEqual(await store.deleteUsers(app(), ['c', 'nobody', 'a', 'a']), ['c', 'a']);
      assert.deepEqual([...(await store.getUsers(app(), ['a', 'b', 'c'])).keys()], ['b']);
      assert.deepEqual(await store.deleteUsers(app(), ['a']), []);
      const [r] = await store.putUsers(app(), [user('a', 5)], 'keep');
      assert.deepEqual(r, { record: user('a', 5), created: true });
    });

    test('a put that fails part-way writes nothing', async () => {
      await store.putUsers(app(), [user('old', 1, { v: 1 })], 'keep');
      const bad = { id: 'broken', data: null, createdUs: 1, updatedUs: 1 } as unknown as UserRecord;
      await assert.rejects(store.putUsers(app(), [user('new', 2), user('old', 2, { v: 2 }), bad], 'replace'));
      const got = await store.getUsers(app(), ['new', 'old', 'broken']);
      assert.deepEqual([...got.keys()], ['old']);
      assert.equal(got.get('old')!.data, '{"v":1}');
    });

    test('loads a thousand users in one call', async () => {
      const many = Array.from({ length: 1000 }, (_, i) => user(`u${i}`, i));
      await store.putUsers(app(), many, 'keep');
      const got = await store.getUsers(app(), many.map((u) => u.id));
      assert.equal(got.size, 1000);
      assert.deepEqual(got.get('u999'), user('u999', 999));
    });

    // Collection entries

    test('creates entries and loads many, keyed by foreign id, in one call', async () => {
      const res = await store.putEntries(app(), [entry('food', 'burger', 10, 'alice'), entry('drinks', 'burger', 20)], 'keep');
      assert.deepEqual(res.map((r) => r.created), [true, true]);
      assert.deepEqual(res[0].record, entry('food', 'burger', 10, 'alice'));
      const got = await store.getEntries(app(), [
        { collection: 'food', id: 'burger' },
        { collection: 'drinks', id: 'burger' },
        { collection: 'food', id: 'fries' },
        { collection: 'food', id: 'burger' },
      ]);
      assert.deepEqual([...got.keys()].sort(), ['drinks:burger', 'food:burger']);
      assert.deepEqual(got.get('drinks:burger'), entry('drinks', 'burger', 20));
      assert.equal((await store.getEntries(app(), [])).size, 0);
      assert.equal((await store.getEntries('other-app', [{ collection: 'food', id: 'burger' }])).size, 0, 'apps are isolated');
    });

    test('keep refuses to overwrite an entry, whoever asks', async () => {
      await store.putEntries(app(), [entry('food', 'burger', 10, 'alice', { v: 1 })], 'keep');
      const [r] = await store.putEntries(app(), [entry('food', 'burger', 20, 'bob', { v: 2 })], 'keep');
      assert.equal(r.created, false);
      assert.deepEqual(r.record, entry('food', 'burger', 10, 'alice', { v: 1 }));
    });

    test('replace keeps the owner unless one is given, and the creation time always', async () => {
      await store.putEntries(app(), [entry('food', 'a', 10, 'alice'), entry('food', 'b', 10, 'alice')], 'keep');
      const res = await store.putEntries(app(), [entry('food', 'a', 20, null, { v: 2 }), entry('food', 'b', 20, 'bob', { v: 3 })], 'replace');
      assert.deepEqual(res, [
        { record: { ...entry('food', 'a', 10, 'alice', { v: 2 }), updatedUs: 20 }, created: false },
        { record: { ...entry('food', 'b', 10, 'bob', { v: 3 }), updatedUs: 20 }, created: false },
      ]);
    });

    test('updates an entry only for its owner when asked to check', async () => {
      await store.putEntries(app(), [entry('food', 'mine', 10, 'alice'), entry('food', 'server', 10, null)], 'keep');
      const ref = { collection: 'food', id: 'mine' };
      assert.deepEqual(await store.updateEntry(app(), ref, '{"v":1}', 20, 'bob'), { kind: 'not_owner' });
      assert.equal((await store.getEntries(app(), [ref])).get('food:mine')!.updatedUs, 10, 'a refused update changes nothing');
      assert.deepEqual(await store.updateEntry(app(), ref, '{"v":1}', 20, 'alice'), {
        kind: 'done',
        value: { ...entry('food', 'mine', 10, 'alice', { v: 1 }), updatedUs: 20 },
      });
      assert.deepEqual(await store.updateEntry(app(), ref, '{"v":2}', 30), {
        kind: 'done',
        value: { ...entry('food', 'mine', 10, 'alice', { v: 2 }), updatedUs: 30 },
      });
      assert.deepEqual(await store.updateEntry(app(), { collection: 'food', id: 'server' }, '{}', 30, 'alice'), { kind: 'not_owner' });
      assert.deepEqual(await store.updateEntry(app(), { collection: 'food', id: 'nope' }, '{}', 30), { kind: 'missing' });
      assert.deepEqual(await store.updateEntry(app(), { collection: 'drinks', id: 'mine' }, '{}', 30, 'alice'), { kind: 'missing' });
    });

    test('deletes entries with one outcome each, sparing those of other owners', async () => {
      await store.putEntries(app(), [entry('food', 'a', 1, 'alice'), entry('food', 'b', 1, 'bob'), entry('food', 'c', 1, 'alice')], 'keep');
      const refs = ['a', 'b', 'zz'].map((id) => ({ collection: 'food', id }));
      assert.deepEqual(await store.deleteEntries(app(), refs, 'alice'), [{ kind: 'done', value: null }, { kind: 'not_owner' }, { kind: 'missing' }]);
      assert.deepEqual([...(await store.getEntries(app(), [...refs, { collection: 'food', id: 'c' }])).keys()].sort(), ['food:b', 'food:c']);
      assert.deepEqual(await store.deleteEntries(app(), [{ collection: 'food', id: 'b' }, { collection: 'food', id: 'c' }]), [
        { kind: 'done', value: null },
        { kind: 'done', value: null },
      ]);
      assert.equal((await store.getEntries(app(), refs)).size, 0);
      const [again] = await store.putEntries(app(), [entry('food', 'a', 9, 'carl')], 'keep');
      assert.deepEqual(again, { record: entry('food', 'a', 9, 'carl'), created: true }, 'an id can be reused after deletion');
    });

    test('an entry put that fails part-way writes nothing', async () => {
      const bad = { ...entry('food', 'broken', 1), data: null } as unknown as EntryRecord;
      await assert.rejects(store.putEntries(app(), [entry('food', 'ok', 1), bad], 'keep'));
      assert.equal((await store.getEntries(app(), [{ collection: 'food', id: 'ok' }])).size, 0);
    });

    test('loads a thousand entries across collections in one call', async () => {
      const many = Array.from({ length: 1000 }, (_, i) => entry(i % 2 ? 'odd' : 'even', `e${i}`, i));
      await store.putEntries(app(), many, 'keep');
      const got = await store.getEntries(app(), many);
      assert.equal(got.size, 1000);
      assert.deepEqual(got.get('odd:e999'), entry('odd', 'e999', 999));
    });
  });
}
