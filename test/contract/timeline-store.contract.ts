import assert from 'node:assert/strict';
import { oldestKept, pulledEntriesOf } from '../../src/services/pulled-view.js';
import { activityAt, idAt, portContract, type PortsFactory } from './ports-support.js';

/** The contract of {@link TimelineStore} (docs/storage-ports.md): range scans of one feed and per-feed operations. */
export function timelineStoreContract(adapter: string, makePorts: PortsFactory, skip: Readonly<Record<string, string>> = {}): void {
  portContract('timeline store', adapter, makePorts, skip, (test) => {
    const ids = (list: { id: string }[]) => list.map((e) => e.id);

    test('add is idempotent, keeps the first origin, and keeps the newest max-length entries', async (p, app) => {
      const feed = 'timeline:b';
      const changes = await p.timelines.apply(app, [{ kind: 'add', feed, entries: [1, 2, 3].map((s) => ({ id: idAt(s), origin: 'user:a' })), maxLength: 3 }]);
      assert.deepEqual(changes.map((c) => [c.feed, ids([...c.added]).sort(), c.removed]), [[feed, [idAt(1), idAt(2), idAt(3)].sort(), []]]);
      // Again, and interleaved with a newer entry from elsewhere: same feed, the oldest trimmed.
      const again = await p.timelines.apply(app, [
        { kind: 'add', feed, entries: [{ id: idAt(2), origin: 'user:z' }], maxLength: 3 },
        { kind: 'add', feed, entries: [{ id: idAt(4), origin: null }], maxLength: 3 },
        { kind: 'add', feed, entries: [1, 2, 3].map((s) => ({ id: idAt(s), origin: 'user:a' })), maxLength: 3 },
      ]);
      assert.deepEqual(again.map((c) => [ids([...c.added]), c.removed]), [[[idAt(4)], [idAt(1)]]]);
      const scan = await p.timelines.scan(app, { feed, limit: 10 });
      assert.deepEqual(scan, [
        { id: idAt(4), origin: null },
        { id: idAt(3), origin: 'user:a' },
        { id: idAt(2), origin: 'user:a' },
      ]);
      assert.equal((await p.timelines.readerState(app, feed)).count, 3);
    });

    test('a one-entry add per feed (a fan-out page) reports what it added and what its trim removed', async (p, app) => {
      const one = (feed: string, s: number, maxLength: number, origin: string | null = 'user:s') => ({ kind: 'add' as const, feed, entries: [{ id: idAt(s), origin }], maxLength });
      await p.timelines.apply(app, [one('timeline:f1', 1, 2), one('timeline:f2', 1, 2), one('timeline:f3', 5, 2)]);
      await p.timelines.apply(app, [one('timeline:f1', 2, 2), one('timeline:f3', 6, 2)]);
      const summary = (changes: Awaited<ReturnType<typeof p.timelines.apply>>) =>
        changes.map((c) => [c.feed, c.added.map((e) => [e.id, e.origin]), [...c.removed].sort()]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      // f1 is full: a newer entry pushes the oldest out; f2 takes it; f3 is full of newer entries,
      // so an older one is trimmed at once (neither added nor removed).
      const changes = await p.timelines.apply(app, [one('timeline:f1', 3, 2), one('timeline:f2', 3, 2, null), one('timeline:f3', 4, 2)]);
      assert.deepEqual(summary(changes), [
        ['timeline:f1', [[idAt(3), 'user:s']], [idAt(1)]],
        ['timeline:f2', [[idAt(3), null]], []],
      ]);
      // The same page again changes nothing, whatever the origin.
      assert.deepEqual(await p.timelines.apply(app, [one('timeline:f1', 3, 2, 'user:x'), one('timeline:f2', 3, 2)]), []);
      assert.deepEqual(await p.timelines.scan(app, { feed: 'timeline:f1', limit: 10 }), [
        { id: idAt(3), origin: 'user:s' },
        { id: idAt(2), origin: 'user:s' },
      ]);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed: 'timeline:f3', limit: 10 })), [idAt(6), idAt(5)]);
      // A smaller max length trims the older entries along with the add.
      assert.deepEqual(summary(await p.timelines.apply(app, [one('timeline:f1', 7, 1)])), [['timeline:f1', [[idAt(7), 'user:s']], [idAt(2), idAt(3)].sort()]]);
      assert.equal((await p.timelines.readerState(app, 'timeline:f1')).count, 1);
    });

    test('one call over many feeds keeps each feed\'s operations in order (an add after a removal, a trim over several adds)', async (p, app) => {
      const add = (feed: string, s: number, maxLength = 2) => ({ kind: 'add' as const, feed, entries: [{ id: idAt(s), origin: 'user:u' }], maxLength });
      await p.timelines.apply(app, [
        add('timeline:a', 1),
        add('timeline:b', 1),
        add('timeline:c', 1),
        { kind: 'remove', feed: 'timeline:a', ids: [idAt(1)], origin: 'user:u' },
        // The same add as the first ones, after the removal: the entry is back.
        add('timeline:a', 1),
        add('timeline:b', 2),
        add('timeline:b', 3),
        { kind: 'remove', feed: 'timeline:c', ids: [idAt(1)] },
      ]);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed: 'timeline:a', limit: 10 })), [idAt(1)]);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed: 'timeline:b', limit: 10 })), [idAt(3), idAt(2)]);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed: 'timeline:c', limit: 10 })), []);
      assert.deepEqual(
        await Promise.all(['timeline:a', 'timeline:b', 'timeline:c'].map(async (f) => (await p.timelines.readerState(app, f)).count)),
        [1, 2, 0],
      );
    });

    test('operations applied without change records (changes: false) leave the feeds as with them', async (p, app) => {
      const ops = (x: string) => [
        { kind: 'add' as const, feed: `timeline:${x}1`, entries: [1, 2, 3].map((s) => ({ id: idAt(s), origin: 'user:s' })), maxLength: 2 },
        { kind: 'add' as const, feed: `timeline:${x}2`, entries: [{ id: idAt(1), origin: 'user:s' }], maxLength: 2 },
        { kind: 'add' as const, feed: `timeline:${x}1`, entries: [{ id: idAt(4), origin: null }], maxLength: 2 },
        { kind: 'remove' as const, feed: `timeline:${x}2`, ids: [idAt(1)], origin: 'user:s' },
        { kind: 'add' as const, feed: `timeline:${x}3`, entries: [5, 6].map((s) => ({ id: idAt(s), origin: 'user:t' })), maxLength: 2 },
        { kind: 'removeOrigin' as const, feed: `timeline:${x}3`, origin: 'user:t' },
      ];
      const reported = await p.timelines.apply(app, ops('r'));
      assert.ok(reported.length > 0);
      const quiet = await p.timelines.apply(app, ops('q'), { changes: false });
      // An adapter may report anyway; when it does, the same as without the option.
      if (quiet.length > 0) assert.deepEqual(quiet.map((c) => c.feed.replace(':q', ':r')), reported.map((c) => c.feed));
      for (const n of [1, 2, 3]) {
        const [r, q] = await Promise.all([p.timelines.scan(app, { feed: `timeline:r${n}`, limit: 10 }), p.timelines.scan(app, { feed: `timeline:q${n}`, limit: 10 })]);
        assert.deepEqual(q, r);
        assert.equal((await p.timelines.readerState(app, `timeline:q${n}`)).count, r.length);
      }
      assert.deepEqual(ids(await p.timelines.scan(app, { feed: 'timeline:q1', limit: 10 })), [idAt(4), idAt(3)]);
    });

    test('scans by id bounds, offset and limit, direct entries only, with bodies', async (p, app) => {
      const feed = 'user:a';
      const acts = [1, 2, 3, 4, 5].map((s) => activityAt(s, feed));
      await p.intents.commit(app, acts.map((activity) => ({ activity })));
      await p.timelines.apply(app, [
        { kind: 'add', feed, entries: acts.map((a) => ({ id: a.id, origin: null })), maxLength: 100 },
        { kind: 'add', feed, entries: [{ id: idAt(6), origin: 'user:x' }], maxLength: 100 },
      ]);
      const a = acts.map((x) => x.id);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed, idLt: a[3], limit: 2 })), [a[2], a[1]]);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed, idLte: a[3], idGt: a[0], limit: 10, offset: 1 })), [a[2], a[1]]);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed, idGte: a[3], limit: 10 })), [idAt(6), a[4], a[3]]);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed, directOnly: true, limit: 2 })), [a[4], a[3]]);
      // With bodies, an entry whose activity does not exist is left out.
      const withBodies = await p.timelines.scan(app, { feed, bodies: true, limit: 2 });
      assert.deepEqual(withBodies, [
        { id: a[4], origin: null, body: acts[4].body },
        { id: a[3], origin: null, body: acts[3].body },
      ]);
      const many = await p.timelines.scanMany(app, [{ feed, limit: 1 }, { feed: 'user:none', limit: 5 }, { feed, idLt: a[1], limit: 5 }]);
      assert.deepEqual(many.map(ids), [[idAt(6)], [], [a[0]]]);
    });

    test('remove (by origin or any), removeOrigin and their changes; removing again changes nothing', async (p, app) => {
      const feed = 'timeline:b';
      await p.timelines.apply(app, [
        { kind: 'add', feed, entries: [{ id: idAt(1), origin: 'user:a' }, { id: idAt(2), origin: 'user:a' }, { id: idAt(3), origin: 'user:c' }, { id: idAt(4), origin: null }], maxLength: 100 },
      ]);
      const r1 = await p.timelines.apply(app, [{ kind: 'remove', feed, ids: [idAt(3)], origin: 'user:a' }]);
      assert.deepEqual(r1, []);
      const r2 = await p.timelines.apply(app, [{ kind: 'remove', feed, ids: [idAt(4)], origin: null }, { kind: 'removeOrigin', feed, origin: 'user:a' }]);
      assert.deepEqual(r2.map((c) => [c.feed, c.added, [...c.removed].sort()]), [[feed, [], [idAt(1), idAt(2), idAt(4)].sort()]]);
      assert.deepEqual(await p.timelines.apply(app, [{ kind: 'remove', feed, ids: [idAt(4)] }, { kind: 'removeOrigin', feed, origin: 'user:a' }]), []);
      assert.deepEqual(ids(await p.timelines.scan(app, { feed, limit: 10 })), [idAt(3)]);
      assert.equal((await p.timelines.readerState(app, feed)).count, 1);
      assert.deepEqual(await p.timelines.apply(app, [{ kind: 'remove', feed: 'timeline:none', ids: [idAt(1)] }]), []);
    });

    test('hides and floors: set union and max, in any order; unhide takes ids out', async (p, app) => {
      const feed = 'timeline:b';
      assert.deepEqual(await p.timelines.readerState(app, feed), { count: 0, floor: null, hidden: [] });
      await p.timelines.apply(app, [
        { kind: 'hide', feed, ids: [idAt(5)], floor: idAt(3) },
        { kind: 'hide', feed, ids: [idAt(5), idAt(7)], floor: idAt(2) },
      ]);
      let st = await p.timelines.readerState(app, feed);
      assert.equal(st.floor, idAt(3));
      assert.deepEqual([...st.hidden].sort(), [idAt(5), idAt(7)].sort());
      await p.timelines.apply(app, [{ kind: 'unhide', feed, ids: [idAt(5), idAt(9)] }, { kind: 'unhide', feed, ids: [idAt(5)] }]);
      st = await p.timelines.readerState(app, feed);
      assert.deepEqual(st.hidden, [idAt(7)]);
      assert.equal(st.floor, idAt(3));
    });

    test('finds entries by id and by their activity foreign id', async (p, app) => {
      const feed = 'timeline:b';
      const a = activityAt(1, 'user:a', { foreignId: 'post:1' });
      const b = activityAt(2, 'user:c', { foreignId: 'post:1' });
      await p.intents.commit(app, [{ activity: a }, { activity: b }]);
      await p.timelines.apply(app, [{ kind: 'add', feed, entries: [{ id: a.id, origin: 'user:a' }, { id: idAt(9), origin: null }], maxLength: 100 }]);
      assert.deepEqual(await p.timelines.entriesOf(app, feed, [a.id, b.id]), [{ id: a.id, origin: 'user:a' }]);
      assert.deepEqual(await p.timelines.entriesByForeignId(app, feed, 'post:1'), [{ id: a.id, origin: 'user:a' }]);
      assert.deepEqual(await p.timelines.entriesByForeignId(app, 'timeline:none', 'post:1'), []);
    });

    test('a reader\'s pulled entries and the oldest entry it keeps, found from the primitives', async (p, app) => {
      // The star is pull-served: its direct entries show in timeline:r by the merge, not as copies.
      const star = Array.from({ length: 6 }, (_, i) => activityAt(2 * i + 1, 'user:star', { foreignId: i < 2 ? 'tag' : `s${i}` }));
      const own = Array.from({ length: 3 }, (_, i) => activityAt(2 * i + 2, 'timeline:r'));
      await p.intents.commit(app, [
        ...[...star, ...own].map((activity) => ({ activity })),
        { follow: { source: 'timeline:r', target: 'user:star', createdUs: 1, grouped: false, since: null } },
        { follow: { source: 'timeline:late', target: 'user:star', createdUs: 1, grouped: false, since: { id: star[3].id } } },
      ]);
      await p.follows.markPullServed(app, ['user:star']);
      await p.timelines.apply(app, [
        { kind: 'add', feed: 'user:star', entries: [...star.map((a) => ({ id: a.id, origin: null })), { id: idAt(50), origin: 'user:x' }], maxLength: 100 },
        { kind: 'add', feed: 'timeline:r', entries: own.map((a) => ({ id: a.id, origin: null })), maxLength: 100 },
      ]);
      const sorted = (list: { id: string; origin: string | null }[]) => [...list].sort((x, y) => (x.id < y.id ? -1 : 1));
      const s = { ports: p };
      assert.deepEqual(
        sorted(await pulledEntriesOf(s, app, 'timeline:r', { ids: [star[4].id, star[2].id, own[0].id, idAt(50)] })),
        sorted([star[4], star[2]].map((a) => ({ id: a.id, origin: 'user:star' }))),
      );
      assert.deepEqual(sorted(await pulledEntriesOf(s, app, 'timeline:r', { foreignId: 'tag' })), sorted([star[0], star[1]].map((a) => ({ id: a.id, origin: 'user:star' }))));
      assert.deepEqual(ids(await pulledEntriesOf(s, app, 'timeline:late', { ids: [star[2].id, star[3].id] })), [star[3].id], 'not before the follow\'s since');
      assert.deepEqual(await pulledEntriesOf(s, app, 'timeline:x', { ids: [star[3].id] }), [], 'not a follower');

      // Merged, newest first: star5 own2 star4 own1 star3 own0 star2 star1 star0 (9 entries).
      const all = [...star, ...own].sort((x, y) => y.timeUs - x.timeUs).map((a) => a.id);
      for (const max of [1, 4, 8, 9, 20]) assert.equal(await oldestKept(s, app, 'timeline:r', max), max < 9 ? all[max - 1] : null, `oldest kept of ${max}`);
      assert.equal(await oldestKept(s, app, 'user:star', 2), null, 'follows nothing pull-served');

      // Hidden pulled entries are neither shown nor kept; a floor ends the merged list.
      await p.timelines.apply(app, [{ kind: 'hide', feed: 'timeline:r', ids: [star[4].id, star[5].id] }]);
      assert.deepEqual(await pulledEntriesOf(s, app, 'timeline:r', { ids: [star[4].id] }), []);
      const visible = all.filter((id) => id !== star[4].id && id !== star[5].id);
      assert.equal(await oldestKept(s, app, 'timeline:r', 3), visible[2]);
      await p.timelines.apply(app, [{ kind: 'hide', feed: 'timeline:r', ids: [], floor: visible[4] }]);
      assert.equal(await oldestKept(s, app, 'timeline:r', 5), null, 'nothing below the floor counts');
      assert.equal(await oldestKept(s, app, 'timeline:r', 4), visible[3]);
    });
  });
}
