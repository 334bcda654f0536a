import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { changeKey, type ChangeMarks } from '../../src/ports/change-marks.js';
import type { StoragePorts } from '../../src/ports/storage.js';
import { activityAt } from './ports-support.js';

/**
 * Two handles on the same data, as two processes (or two nodes) would hold them, and how many
 * marks the backend keeps (`keep`), so the tests can run past it.
 */
export interface ChangeMarksPair {
  readonly a: ChangeMarks;
  readonly b: ChangeMarks;
  readonly keep: number;
  close(): Promise<void>;
}

/**
 * The {@link ChangeMarks} contract: marks are read back in order by any handle on the same data,
 * positions only grow, and a reader that fell behind the kept marks is told so.
 */
export function changeMarksContract(name: string, open: () => Promise<ChangeMarksPair>): void {
  describe(`change marks contract: ${name}`, () => {
    let p: ChangeMarksPair;
    before(async () => {
      p = await open();
    });
    after(async () => p.close());

    it('a mark is seen by every handle after the position taken before it, and only once', async () => {
      const start = await p.b.position();
      const seq = await p.a.record(['f|1|user:x', 'a|1|id1']);
      assert.ok(seq > start);
      assert.equal(await p.b.position(), seq);
      const got = await p.b.changesSince(start);
      assert.deepEqual(got, { position: seq, keys: ['f|1|user:x', 'a|1|id1'], complete: true });
      assert.deepEqual(await p.b.changesSince(seq), { position: seq, keys: [], complete: true });
    });

    it('marks come back in the order they were recorded, from either handle', async () => {
      const start = await p.a.position();
      const one = await p.a.record(['u|1|ann']);
      const two = await p.b.record(['o|1|food|soup']);
      const three = await p.a.record(['u|1|bob', 'u|1|ann']);
      assert.ok(start < one && one < two && two < three);
      for (const h of [p.a, p.b]) {
        const got = await h.changesSince(start);
        assert.equal(got.position, three);
        assert.equal(got.complete, true);
        assert.deepEqual(got.keys, ['u|1|ann', 'o|1|food|soup', 'u|1|bob', 'u|1|ann']);
        assert.deepEqual((await h.changesSince(two)).keys, ['u|1|bob', 'u|1|ann']);
      }
    });

    it('a reader behind the kept marks is told the log no longer reaches back', async () => {
      const start = await p.a.position();
      const first = await p.a.record(['f|1|user:old']);
      for (let i = 0; i < 2 * p.keep + 10; i++) await p.a.record([`f|1|user:${i}`]);
      const last = await p.a.position();
      const got = await p.b.changesSince(start);
      assert.equal(got.complete, false);
      assert.equal(got.position, last);
      // Close enough behind, the marks are still there.
      const recent = await p.b.changesSince(last - 2);
      assert.deepEqual(recent, { position: last, keys: [`f|1|user:${2 * p.keep + 8}`, `f|1|user:${2 * p.keep + 9}`], complete: true });
      assert.ok(first > start);
    });
  });
}

/** A store's storage ports with the change marks their writes leave. */
export interface MarkedPorts {
  readonly ports: StoragePorts;
  readonly changes: ChangeMarks;
  close(): Promise<void>;
}

/**
 * The marks the storage ports' writes leave, which read caches invalidate from: each write marks
 * what it changed (docs/storage-ports.md, "Change marks"), reads mark nothing.
 */
export function portWriteMarksContract(name: string, open: () => Promise<MarkedPorts>): void {
  describe(`change marks of port writes: ${name}`, () => {
    it('a step, per-feed operations, a group write, a user and an entry write each leave the mark of what they changed', async () => {
      const store = await open();
      try {
        const p = store.ports;
        const start = await store.changes.position();
        const act = activityAt(1, 'user:ann');
        await p.intents.commit('1', [{ activity: act }, { follow: { source: 'timeline:bob', target: 'user:ann', createdUs: 1, grouped: false, since: null } }]);
        await p.timelines.apply('1', [{ kind: 'add', feed: 'user:ann', entries: [{ id: act.id, origin: null }], maxLength: 10 }]);
        const [g] = await p.groups.readForMerge('1', [{ feed: 'notification:ann' }]);
        await p.groups.writeGroups('1', [{ feed: 'notification:ann', version: g.version, put: [], drop: [], counts: g.counts }]);
        await p.users.putUsers('1', [{ id: 'ann', data: '{}', createdUs: 1, updatedUs: 1 }], 'replace');
        await p.collections.putEntries('1', [{ collection: 'food', id: 'soup', userId: null, data: '{}', createdUs: 1, updatedUs: 1 }], 'replace');
        const got = await store.changes.changesSince(start);
        assert.equal(got.complete, true);
        assert.deepEqual(new Set(got.keys), new Set([
          changeKey.activity('1', act.id),
          changeKey.feed('1', 'timeline:bob'),
          changeKey.feed('1', 'user:ann'),
          changeKey.feed('1', 'notification:ann'),
          changeKey.user('1', 'ann'),
          changeKey.object('1', 'food', 'soup'),
        ]));
        // Reads leave no mark; a direct entry of a pull-served feed marks the app's merged reads.
        await p.users.getUsers('1', ['ann']);
        assert.equal(await store.changes.position(), got.position);
        await p.follows.markPullServed('1', ['user:ann']);
        const before = await store.changes.position();
        await p.timelines.apply('1', [{ kind: 'add', feed: 'user:ann', entries: [{ id: activityAt(2, 'user:ann').id, origin: null }], maxLength: 10 }]);
        assert.ok((await store.changes.changesSince(before)).keys.includes(changeKey.pulled('1')));
      } finally {
        await store.close();
      }
    });

    it('a reaction marks its activity\'s reactions, itself and its parent, not the activity', async () => {
      const store = await open();
      try {
        const act = activityAt(3, 'user:ann');
        await store.ports.intents.commit('2', [{ activity: act }]);
        const start = await store.changes.position();
        const r = { id: 'r1', kind: 'comment', activityId: act.id, userId: 'bob', parent: '', depth: 1, data: '{}', targetFeeds: [], createdUs: 4, updatedUs: 4, deletedUs: null };
        const child = { ...r, id: 'r2', parent: 'r1', depth: 2, createdUs: 5, updatedUs: 5 };
        await store.ports.intents.commit('2', [{ reactions: { add: [r, child] } }]);
        const got = await store.changes.changesSince(start);
        assert.deepEqual(new Set(got.keys), new Set([changeKey.reactions('2', act.id), changeKey.reaction('2', 'r1'), changeKey.reaction('2', 'r2')]));
      } finally {
        await store.close();
      }
    });
  });
}
