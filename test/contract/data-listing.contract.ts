import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { activityId } from '../../src/core/activities/activity-id.js';
import type { DataListing, ListPage } from '../../src/ports/data-listing.js';
import type { StoragePorts } from '../../src/ports/storage.js';

/** Every page of a listing, from the first, with pages of `limit`. */
async function all<T>(list: (cursor: string | null, limit: number) => Promise<ListPage<T>>, limit: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 10_000, 'a listing ends');
    const page: ListPage<T> = await list(cursor, limit);
    out.push(...page.items);
    if (page.next === null) return out;
    cursor = page.next;
  }
}

/**
 * The contract every {@link DataListing} adapter satisfies, over data written through the storage
 * ports of the same backend; `skip` names tests with their reason.
 */
export function dataListingContract(
  name: string,
  make: () => Promise<{ listing: DataListing; ports: Pick<StoragePorts, 'intents' | 'users' | 'collections'>; close(): Promise<void> }>,
  skip: Record<string, string> = {},
): void {
  describe(`data listing contract: ${name}`, () => {
    let listing: DataListing;
    let ports: Pick<StoragePorts, 'intents' | 'users' | 'collections'>;
    let close: () => Promise<void>;
    let n = 0;
    before(async () => {
      ({ listing, ports, close } = await make());
    });
    after(async () => close());
    const test = (title: string, fn: () => Promise<void>) => it(title, skip[title] ? { skip: skip[title] } : {}, fn);
    const app = () => `list${++n}-${process.pid}`;
    const act = (t: number, home: string) => {
      const id = activityId(t, `l${t}`);
      return { id, timeUs: t, foreignId: t % 2 === 0 ? `post:${t}` : '', to: t % 3 === 0 ? ['user:zed'] : [], body: JSON.stringify({ id, actor: 'a', verb: 'post', object: `o${t}` }), home };
    };
    const byKey = <T>(list: T[], key: (x: T) => string) => {
      const m = new Map<string, T>();
      for (const x of list) m.set(key(x), x);
      return m;
    };

    test('lists every activity of the app once, as stored, page by page; erased ones are gone', async () => {
      const a = app();
      const acts = Array.from({ length: 40 }, (_, i) => act(1_000_000 + i, `user:u${i % 4}`));
      await ports.intents.commit(a, acts.map((activity) => ({ activity })));
      await ports.intents.commit(app(), [{ activity: act(5, 'user:other') }]);
      await ports.intents.commit(a, [{ erase: [acts[0].id, acts[1].id] }]);
      for (const limit of [1, 7, 1000]) {
        const listed = await all((c, l) => listing.activities(a, c, l), limit);
        const got = byKey(listed, (x) => x.id);
        assert.equal(got.size, 38, `limit ${limit}`);
        for (const x of acts.slice(2)) assert.deepEqual({ ...got.get(x.id) }, x);
      }
    });

    test('lists every follow edge of the app with its flags and bound; unfollowed ones are gone', async () => {
      const a = app();
      const edges = Array.from({ length: 25 }, (_, i) => ({
        source: i % 2 === 0 ? `timeline:r${i}` : `notification:r${i}`,
        target: `user:w${i % 5}`,
        createdUs: 1000 + i,
        grouped: i % 2 === 1,
        since: i % 3 === 0 ? { id: activityId(50 + i, 'x') } : null,
      }));
      for (const e of edges) await ports.intents.commit(a, [{ follow: e }]);
      await ports.intents.commit(a, [{ unfollow: { source: edges[0].source, target: edges[0].target } }]);
      for (const limit of [1, 6, 1000]) {
        const got = byKey(await all((c, l) => listing.follows(a, c, l), limit), (x) => `${x.source}>${x.target}`);
        assert.equal(got.size, 24, `limit ${limit}`);
        for (const e of edges.slice(1)) assert.deepEqual({ ...got.get(`${e.source}>${e.target}`) }, e);
      }
    });

    test('lists every reaction of the app, soft-deleted ones too, children with their parents; removed ones are gone', async () => {
      const a = app();
      const target = act(2_000_000, 'user:r');
      await ports.intents.commit(a, [{ activity: target }]);
      const reaction = (i: number, parent = '') => ({
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        kind: i % 2 === 0 ? 'like' : 'comment',
        activityId: target.id,
        userId: `u${i % 3}`,
        parent,
        depth: parent === '' ? 1 : 2,
        data: JSON.stringify({ text: `r${i}` }),
        targetFeeds: i % 4 === 0 ? ['notification:u9'] : [],
        createdUs: 5000 + i,
        updatedUs: 5000 + i,
        deletedUs: null as number | null,
      });
      const top = Array.from({ length: 12 }, (_, i) => reaction(i + 1));
      const children = [reaction(50, top[0].id), reaction(51, top[0].id)];
      await ports.intents.commit(a, [{ reactions: { add: top } }]);
      await ports.intents.commit(a, [{ reactions: { add: children } }]);
      await ports.intents.commit(a, [{ reactions: { softDelete: [{ reaction: top[1], deletedUs: 9999 }] } }]);
      await ports.intents.commit(a, [{ reactions: { remove: [top[2]] } }]);
      const expected = [...top, ...children].filter((r) => r.id !== top[2].id).map((r) => (r.id === top[1].id ? { ...r, deletedUs: 9999 } : r));
      for (const limit of [1, 5, 1000]) {
        const got = byKey(await all((c, l) => listing.reactions(a, c, l), limit), (x) => x.id);
        assert.equal(got.size, expected.length, `limit ${limit}`);
        for (const r of expected) assert.deepEqual({ ...got.get(r.id) }, r);
      }
    });

    test('lists every user and every collection entry of the app; deleted ones are gone', async () => {
      const a = app();
      const users = Array.from({ length: 30 }, (_, i) => ({ id: `user-${i}`, data: JSON.stringify({ n: i }), createdUs: 10 + i, updatedUs: 20 + i }));
      await ports.users.putUsers(a, users, 'replace');
      await ports.users.putUsers(app(), [{ id: 'elsewhere', data: '{}', createdUs: 1, updatedUs: 1 }], 'replace');
      await ports.users.deleteUsers(a, ['user-0']);
      const entries = Array.from({ length: 30 }, (_, i) => ({
        collection: i % 2 === 0 ? 'food' : 'places',
        id: `e${i}`,
        data: JSON.stringify({ n: i }),
        userId: i % 3 === 0 ? null : `user-${i}`,
        createdUs: 10 + i,
        updatedUs: 20 + i,
      }));
      await ports.collections.putEntries(a, entries, 'replace');
      await ports.collections.deleteEntries(a, [{ collection: 'food', id: 'e0' }]);
      for (const limit of [1, 8, 1000]) {
        const u = byKey(await all((c, l) => listing.users(a, c, l), limit), (x) => x.id);
        assert.equal(u.size, 29, `users, limit ${limit}`);
        for (const x of users.slice(1)) assert.deepEqual({ ...u.get(x.id) }, x);
        const e = byKey(await all((c, l) => listing.entries(a, c, l), limit), (x) => `${x.collection}:${x.id}`);
        assert.equal(e.size, 29, `entries, limit ${limit}`);
        for (const x of entries.slice(1)) assert.deepEqual({ ...e.get(`${x.collection}:${x.id}`) }, x);
      }
    });

    test('an app without data lists nothing', async () => {
      const a = app();
      assert.deepEqual(await all((c, l) => listing.activities(a, c, l), 10), []);
      assert.deepEqual(await all((c, l) => listing.follows(a, c, l), 10), []);
      assert.deepEqual(await all((c, l) => listing.reactions(a, c, l), 10), []);
      assert.deepEqual(await all((c, l) => listing.users(a, c, l), 10), []);
      assert.deepEqual(await all((c, l) => listing.entries(a, c, l), 10), []);
    });
  });
}
