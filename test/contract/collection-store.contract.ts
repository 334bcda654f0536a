import assert from 'node:assert/strict';
import type { EntryRecord } from '../../src/ports/collection-store.js';
import { portContract, type PortsFactory } from './ports-support.js';

/** The contract of {@link CollectionStore} (stream-v2-api.md §12, docs/storage-ports.md). */
export function collectionStoreContract(adapter: string, makePorts: PortsFactory, skip: Readonly<Record<string, string>> = {}): void {
  portContract('collection store', adapter, makePorts, skip, (test) => {
    const entry = (collection: string, id: string, t: number, userId: string | null = null, data: object = { n: t }): EntryRecord => ({
      collection,
      id,
      userId,
      data: JSON.stringify(data),
      createdUs: t,
      updatedUs: t,
    });

    test('creates entries and loads many, keyed by foreign id, in one call', async (p, app) => {
      const res = await p.collections.putEntries(app, [entry('food', 'burger', 10, 'alice'), entry('drinks', 'burger', 20)], 'keep');
      assert.deepEqual(res.map((r) => r.created), [true, true]);
      assert.deepEqual(res[0].record, entry('food', 'burger', 10, 'alice'));
      const got = await p.collections.getEntries(app, [
        { collection: 'food', id: 'burger' },
        { collection: 'drinks', id: 'burger' },
        { collection: 'food', id: 'fries' },
        { collection: 'food', id: 'burger' },
      ]);
      assert.deepEqual([...got.keys()].sort(), ['drinks:burger', 'food:burger']);
      assert.deepEqual(got.get('drinks:burger'), entry('drinks', 'burger', 20));
      assert.equal((await p.collections.getEntries(app, [])).size, 0);
      assert.equal((await p.collections.getEntries('other-app', [{ collection: 'food', id: 'burger' }])).size, 0, 'apps are isolated');
    });

    test('keep refuses to overwrite an entry, whoever asks', async (p, app) => {
      await p.collections.putEntries(app, [entry('food', 'burger', 10, 'alice', { v: 1 })], 'keep');
      const [r] = await p.collections.putEntries(app, [entry('food', 'burger', 20, 'bob', { v: 2 })], 'keep');
      assert.equal(r.created, false);
      assert.deepEqual(r.record, entry('food', 'burger', 10, 'alice', { v: 1 }));
    });

    test('replace keeps the owner unless one is given, and the creation time always', async (p, app) => {
      await p.collections.putEntries(app, [entry('food', 'a', 10, 'alice'), entry('food', 'b', 10, 'alice')], 'keep');
      const res = await p.collections.putEntries(app, [entry('food', 'a', 20, null, { v: 2 }), entry('food', 'b', 20, 'bob', { v: 3 })], 'replace');
      assert.deepEqual(res, [
        { record: { ...entry('food', 'a', 10, 'alice', { v: 2 }), updatedUs: 20 }, created: false },
        { record: { ...entry('food', 'b', 10, 'bob', { v: 3 }), updatedUs: 20 }, created: false },
      ]);
    });

    test('updates an entry only for its owner when asked to check', async (p, app) => {
      await p.collections.putEntries(app, [entry('food', 'mine', 10, 'alice'), entry('food', 'server', 10, null)], 'keep');
      const ref = { collection: 'food', id: 'mine' };
      assert.deepEqual(await p.collections.updateEntry(app, ref, '{"v":1}', 20, 'bob'), { kind: 'not_owner' });
      assert.equal((await p.collections.getEntries(app, [ref])).get('food:mine')!.updatedUs, 10, 'a refused update changes nothing');
      assert.deepEqual(await p.collections.updateEntry(app, ref, '{"v":1}', 20, 'alice'), {
        kind: 'done',
        value: { ...entry('food', 'mine', 10, 'alice', { v: 1 }), updatedUs: 20 },
      });
      assert.deepEqual(await p.collections.updateEntry(app, ref, '{"v":2}', 30), {
        kind: 'done',
        value: { ...entry('food', 'mine', 10, 'alice', { v: 2 }), updatedUs: 30 },
      });
      assert.deepEqual(await p.collections.updateEntry(app, { collection: 'food', id: 'server' }, '{}', 30, 'alice'), { kind: 'not_owner' });
      assert.deepEqual(await p.collections.updateEntry(app, { collection: 'food', id: 'nope' }, '{}', 30), { kind: 'missing' });
      assert.deepEqual(await p.collections.updateEntry(app, { collection: 'drinks', id: 'mine' }, '{}', 30, 'alice'), { kind: 'missing' });
    });

    test('deletes entries with one outcome each, sparing those of other owners', async (p, app) => {
      await p.collections.putEntries(app, [entry('food', 'a', 1, 'alice'), entry('food', 'b', 1, 'bob'), entry('food', 'c', 1, 'alice')], 'keep');
      const refs = ['a', 'b', 'zz'].map((id) => ({ collection: 'food', id }));
      assert.deepEqual(await p.collections.deleteEntries(app, refs, 'alice'), [{ kind: 'done', value: null }, { kind: 'not_owner' }, { kind: 'missing' }]);
      assert.deepEqual([...(await p.collections.getEntries(app, [...refs, { collection: 'food', id: 'c' }])).keys()].sort(), ['food:b', 'food:c']);
      assert.deepEqual(await p.collections.deleteEntries(app, [{ collection: 'food', id: 'b' }, { collection: 'food', id: 'c' }]), [
        { kind: 'done', value: null },
        { kind: 'done', value: null },
      ]);
      assert.equal((await p.collections.getEntries(app, refs)).size, 0);
      const [again] = await p.collections.putEntries(app, [entry('food', 'a', 9, 'carl')], 'keep');
      assert.deepEqual(again, { record: entry('food', 'a', 9, 'carl'), created: true }, 'an id can be reused after deletion');
    });

    test('an entry put that fails part-way writes nothing', async (p, app) => {
      const bad = { ...entry('food', 'broken', 1), data: null } as unknown as EntryRecord;
      await assert.rejects(p.collections.putEntries(app, [entry('food', 'ok', 1), bad], 'keep'));
      assert.equal((await p.collections.getEntries(app, [{ collection: 'food', id: 'ok' }])).size, 0);
    });

    test('loads a thousand entries across collections in one call', async (p, app) => {
      const many = Array.from({ length: 1000 }, (_, i) => entry(i % 2 ? 'odd' : 'even', `e${i}`, i));
      await p.collections.putEntries(app, many, 'keep');
      const got = await p.collections.getEntries(app, many);
      assert.equal(got.size, 1000);
      assert.deepEqual(got.get('odd:e999'), entry('odd', 'e999', 999));
    });
  });
}
