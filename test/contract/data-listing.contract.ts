import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { activityId } from '../../src/core/activities/activity-id.js';
import { placeInGroups } from '../../src/core/aggregation/groups.js';
import type { DataListing, ListPage } from '../../src/ports/data-listing.js';
import type { RecordStores } from '../../src/ports/record-stores.js';
import type { SignalWriter } from '../../src/ports/signal-writes.js';
import type { StoragePorts } from '../../src/ports/storage.js';

type Ports = Pick<StoragePorts, 'intents' | 'users' | 'collections' | 'timelines' | 'groups' | 'follows'>;

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
  make: () => Promise<{ listing: DataListing; ports: Ports; signals: SignalWriter; records: RecordStores; close(): Promise<void> }>,
  skip: Record<string, string> = {},
): void {
  describe(`data listing contract: ${name}`, () => {
    let listing: DataListing;
    let ports: Ports;
    let signals: SignalWriter;
    let records: RecordStores;
    let close: () => Promise<void>;
    let n = 0;
    before(async () => {
      ({ listing, ports, signals, records, close } = await make());
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

    test('lists every feed that holds entries, groups, hidden ids, a floor or the pull flag, and no other', async () => {
      const a = app();
      const acts = Array.from({ length: 6 }, (_, i) => act(3_000_000 + i, 'user:p0'));
      await ports.intents.commit(a, acts.map((activity) => ({ activity })));
      const flat = Array.from({ length: 23 }, (_, i) => `timeline:f${i}`);
      await ports.timelines.apply(a, flat.map((feed, i) => ({ kind: 'add', feed, entries: [{ id: acts[i % 6].id, origin: i % 2 === 0 ? null : 'user:p0' }], maxLength: 100 })));
      await ports.timelines.apply(a, [{ kind: 'hide', feed: 'timeline:hidden', ids: [acts[0].id] }, { kind: 'hide', feed: 'timeline:floored', ids: [], floor: acts[1].id }]);
      const [read] = await ports.groups.readForMerge(a, [{ feed: 'notification:g', keys: ['post'] }]);
      const change = placeInGroups(read, [{ id: acts[2].id, origin: 'user:p0', key: 'post', timeUs: acts[2].timeUs, actor: 'a', verb: 'post' }], { maxGroups: 5, maxPerGroup: 5 });
      assert.ok(change);
      assert.deepEqual(await ports.groups.writeGroups(a, [{ feed: 'notification:g', version: read.version, ...change }]), []);
      await ports.follows.markPullServed(a, ['user:celebrity']);
      // A feed that only follows, and one emptied again, hold nothing of their own.
      await ports.intents.commit(a, [{ follow: { source: 'timeline:reader', target: 'user:p0', createdUs: 1, grouped: false, since: null } }]);
      await ports.timelines.apply(a, [{ kind: 'add', feed: 'timeline:emptied', entries: [{ id: acts[0].id, origin: null }], maxLength: 10 }]);
      await ports.timelines.apply(a, [{ kind: 'remove', feed: 'timeline:emptied', ids: [acts[0].id] }]);
      await ports.timelines.apply(app(), [{ kind: 'add', feed: 'timeline:elsewhere', entries: [{ id: acts[0].id, origin: null }], maxLength: 10 }]);
      const want = [...flat, 'timeline:hidden', 'timeline:floored', 'notification:g', 'user:celebrity'].sort();
      for (const limit of [1, 5, 1000]) {
        const got = [...new Set(await all((c, l) => listing.feeds(a, c, l), limit))].sort();
        assert.deepEqual(got, want, `limit ${limit}`);
      }
    });

    test("lists users' hidden activities with their placements, and the users with profile weights", async () => {
      const a = app();
      const hides = Array.from({ length: 14 }, (_, i) => ({
        user: `u${i % 4}`,
        activityId: activityId(4_000_000 + i, 'h'),
        hidden: true,
        atUs: 100 + i,
        placements: i % 2 === 0 ? [{ feed: `timeline:u${i % 4}`, origin: 'user:x' }] : [{ feed: `timeline:u${i % 4}`, origin: null, pulled: true }],
      }));
      await signals.recordSignals(a, { hides });
      await signals.recordSignals(a, { hides: [{ ...hides[0], hidden: false }] });
      await signals.recordSignals(a, {
        profile: ['p1', 'p2', 'p3'].map((user, i) => ({ op: 'set' as const, user, dimension: 'tag' as const, key: `#t${i}`, source: 'manual' as const, weight: 0.5, atUs: 10 })),
      });
      await signals.recordSignals(app(), { profile: [{ op: 'set', user: 'other', dimension: 'tag', key: '#x', source: 'manual', weight: 1, atUs: 1 }] });
      for (const limit of [1, 4, 1000]) {
        const got = byKey(await all((c, l) => listing.hiddenActivities(a, c, l), limit), (x) => `${x.user}/${x.activityId}`);
        assert.equal(got.size, 13, `limit ${limit}`);
        for (const h of hides.slice(1)) assert.deepEqual({ ...got.get(`${h.user}/${h.activityId}`) }, { user: h.user, activityId: h.activityId, hiddenUs: h.atUs, placements: h.placements });
        assert.deepEqual([...new Set(await all((c, l) => listing.profileUsers(a, c, l), limit))].sort(), ['p1', 'p2', 'p3']);
      }
    });

    test('lists the file index, and the audit log and flags oldest first', async () => {
      const a = app();
      const files = Array.from({ length: 12 }, (_, i) => ({
        id: `file${String(i).padStart(2, '0')}`,
        name: `f${i}.png`,
        kind: 'image' as const,
        contentType: 'image/png',
        size: 100 + i,
        owner: i % 3 === 0 ? null : `u${i}`,
        parent: i === 11 ? 'file00' : null,
        variant: i === 11 ? 'file00?w=50' : null,
        createdUs: 1000 + i,
      }));
      for (const f of files) await records.files.addFile(a, f);
      for (let i = 0; i < 9; i++) await records.audit.append(a, [{ entityType: 'user', entityId: `u${i}`, action: 'created', userId: `u${i}`, custom: '{}' }], 500 + i);
      const flags = Array.from({ length: 7 }, (_, i) => ({
        id: `flag-${i}`,
        entityType: 'stream:user' as const,
        entityId: `u${i}`,
        targetUserId: `u${i}`,
        flaggedBy: i % 2 === 0 ? 'mod' : null,
        reason: i % 2 === 0 ? 'spam' : null,
        createdUs: 700 + i,
      }));
      for (const f of flags) await records.flags.addFlag(a, f);
      await records.audit.append(app(), [{ entityType: 'user', entityId: 'x', action: 'created', userId: 'x', custom: '{}' }], 1);
      for (const limit of [1, 4, 1000]) {
        const f = byKey(await all((c, l) => listing.files(a, c, l), limit), (x) => x.id);
        assert.equal(f.size, 12, `limit ${limit}`);
        for (const x of files) assert.deepEqual({ ...f.get(x.id) }, x);
        const audit = await all((c, l) => listing.audit(a, c, l), limit);
        assert.deepEqual(audit.map((e) => [e.entityId, e.createdUs, e.action]), Array.from({ length: 9 }, (_, i) => [`u${i}`, 500 + i, 'created']));
        assert.ok(audit.every((e, i) => i === 0 || Number(e.id) > Number(audit[i - 1].id)));
        assert.deepEqual((await all((c, l) => listing.flags(a, c, l), limit)).map((x) => ({ ...x })), flags);
      }
    });

    test('an app without data lists nothing', async () => {
      const a = app();
      const lists: ((c: string | null, l: number) => Promise<ListPage<unknown>>)[] = [
        (c, l) => listing.feeds(a, c, l),
        (c, l) => listing.hiddenActivities(a, c, l),
        (c, l) => listing.profileUsers(a, c, l),
        (c, l) => listing.files(a, c, l),
        (c, l) => listing.audit(a, c, l),
        (c, l) => listing.flags(a, c, l),
      ];
      for (const list of lists) assert.deepEqual(await all(list, 10), []);
      assert.deepEqual(await all((c, l) => listing.activities(a, c, l), 10), []);
      assert.deepEqual(await all((c, l) => listing.follows(a, c, l), 10), []);
      assert.deepEqual(await all((c, l) => listing.reactions(a, c, l), 10), []);
      assert.deepEqual(await all((c, l) => listing.users(a, c, l), 10), []);
      assert.deepEqual(await all((c, l) => listing.entries(a, c, l), 10), []);
    });
  });
}
