import assert from 'node:assert/strict';
import type { UserRecord } from '../../src/ports/user-store.js';
import { portContract, type PortsFactory } from './ports-support.js';

/** The contract of {@link UserStore} (stream-v2-api.md §11, docs/storage-ports.md). */
export function userStoreContract(adapter: string, makePorts: PortsFactory, skip: Readonly<Record<string, string>> = {}): void {
  portContract('user store', adapter, makePorts, skip, (test) => {
    const user = (id: string, t: number, data: object = { n: t }): UserRecord => ({ id, data: JSON.stringify(data), createdUs: t, updatedUs: t });

    test('creates users and loads many by id in one call', async (p, app) => {
      const res = await p.users.putUsers(app, [user('alice', 10), user('bob', 20)], 'keep');
      assert.deepEqual(res, [
        { record: user('alice', 10), created: true },
        { record: user('bob', 20), created: true },
      ]);
      const got = await p.users.getUsers(app, ['bob', 'nobody', 'alice', 'bob']);
      assert.deepEqual([...got.keys()].sort(), ['alice', 'bob']);
      assert.deepEqual(got.get('alice'), user('alice', 10));
      assert.equal((await p.users.getUsers(app, [])).size, 0);
      assert.equal((await p.users.getUsers('other-app', ['alice'])).size, 0, 'apps are isolated');
    });

    test('keep leaves an existing user untouched and says it was not created', async (p, app) => {
      await p.users.putUsers(app, [user('alice', 10, { v: 1 })], 'keep');
      const [r] = await p.users.putUsers(app, [user('alice', 99, { v: 2 })], 'keep');
      assert.equal(r.created, false);
      assert.deepEqual(r.record, user('alice', 10, { v: 1 }));
      assert.deepEqual((await p.users.getUsers(app, ['alice'])).get('alice'), user('alice', 10, { v: 1 }));
    });

    test('replace overwrites data and updated time but keeps the creation time', async (p, app) => {
      await p.users.putUsers(app, [user('alice', 10, { v: 1 })], 'keep');
      const res = await p.users.putUsers(app, [user('alice', 50, { v: 2 }), user('carl', 50)], 'replace');
      assert.deepEqual(res, [
        { record: { id: 'alice', data: '{"v":2}', createdUs: 10, updatedUs: 50 }, created: false },
        { record: user('carl', 50), created: true },
      ]);
    });

    test('a repeated id in one put: the first wins under keep, the last under replace', async (p, app) => {
      const kept = await p.users.putUsers(app, [user('a', 1, { v: 1 }), user('a', 1, { v: 2 })], 'keep');
      assert.deepEqual(kept.map((r) => [r.created, r.record.data]), [[true, '{"v":1}'], [false, '{"v":1}']]);
      const replaced = await p.users.putUsers(app, [user('b', 1, { v: 1 }), user('b', 2, { v: 2 })], 'replace');
      assert.deepEqual(replaced.map((r) => [r.created, r.record.data]), [[true, '{"v":1}'], [false, '{"v":2}']]);
      assert.equal((await p.users.getUsers(app, ['b'])).get('b')!.data, '{"v":2}');
    });

    test('user ids are case-sensitive', async (p, app) => {
      await p.users.putUsers(app, [user('Alice', 1), user('alice', 2)], 'keep');
      const got = await p.users.getUsers(app, ['Alice', 'alice', 'ALICE']);
      assert.equal(got.size, 2);
      assert.equal(got.get('Alice')!.createdUs, 1);
    });

    test('updates a user and reports a missing one', async (p, app) => {
      await p.users.putUsers(app, [user('alice', 10)], 'keep');
      assert.deepEqual(await p.users.updateUser(app, 'alice', '{"x":1}', 20), { id: 'alice', data: '{"x":1}', createdUs: 10, updatedUs: 20 });
      assert.equal(await p.users.updateUser(app, 'nobody', '{}', 20), null);
      assert.equal(await p.users.updateUser('other-app', 'alice', '{}', 20), null);
    });

    test('deletes users, returning the ids that existed, and frees the id', async (p, app) => {
      await p.users.putUsers(app, [user('a', 1), user('b', 1), user('c', 1)], 'keep');
      assert.deepEqual(await p.users.deleteUsers(app, ['c', 'nobody', 'a', 'a']), ['c', 'a']);
      assert.deepEqual([...(await p.users.getUsers(app, ['a', 'b', 'c'])).keys()], ['b']);
      assert.deepEqual(await p.users.deleteUsers(app, ['a']), []);
      const [r] = await p.users.putUsers(app, [user('a', 5)], 'keep');
      assert.deepEqual(r, { record: user('a', 5), created: true });
    });

    test('a put that fails part-way writes nothing', async (p, app) => {
      await p.users.putUsers(app, [user('old', 1, { v: 1 })], 'keep');
      const bad = { id: 'broken', data: null, createdUs: 1, updatedUs: 1 } as unknown as UserRecord;
      await assert.rejects(p.users.putUsers(app, [user('new', 2), user('old', 2, { v: 2 }), bad], 'replace'));
      const got = await p.users.getUsers(app, ['new', 'old', 'broken']);
      assert.deepEqual([...got.keys()], ['old']);
      assert.equal(got.get('old')!.data, '{"v":1}');
    });

    test('loads a thousand users in one call', async (p, app) => {
      const many = Array.from({ length: 1000 }, (_, i) => user(`u${i}`, i));
      await p.users.putUsers(app, many, 'keep');
      const got = await p.users.getUsers(app, many.map((u) => u.id));
      assert.equal(got.size, 1000);
      assert.deepEqual(got.get('u999'), user('u999', 999));
    });
  });
}
