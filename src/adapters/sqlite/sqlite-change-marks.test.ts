import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { changeMarksContract } from '../../../test/contract/change-marks.contract.js';
import { batchChanges, changeKey } from '../../ports/change-marks.js';
import { SqliteChangeMarks } from './sqlite-change-marks.js';
import { SqliteStore } from './sqlite-store.js';

// Two stores over one file stand for two processes (`serve --workers`, a separate worker).
changeMarksContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-marks-'));
  const a = new SqliteStore(join(dir, 'db'));
  const b = new SqliteStore(join(dir, 'db'));
  // Few marks kept, so the test runs past them quickly.
  return {
    a: new SqliteChangeMarks(a.database, 64),
    b: new SqliteChangeMarks(b.database, 64),
    keep: 64,
    close: async () => {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite change marks of store writes', () => {
  it('a commit, a user write and a collection write each leave the mark of what they changed', async () => {
    const s = new SqliteStore(':memory:');
    try {
      const start = await s.changes.position();
      const act = { id: '00000000-0000-1000-8000-000000000001', foreignId: '', timeUs: 1, home: 'user:ann', to: [], body: '{}' };
      await s.commit('1', { activities: [act], entries: [{ feed: 'user:ann', id: act.id, origin: null, maxLength: 10 }] });
      await s.putUsers('1', [{ id: 'ann', data: '{}', createdUs: 1, updatedUs: 1 }], 'replace');
      await s.putEntries('1', [{ collection: 'food', id: 'soup', userId: null, data: '{}', createdUs: 1, updatedUs: 1 }], 'replace');
      const got = await s.changes.changesSince(start);
      assert.equal(got.complete, true);
      assert.deepEqual(new Set(got.keys), new Set([
        changeKey.activity('1', act.id),
        changeKey.feed('1', 'user:ann'),
        changeKey.user('1', 'ann'),
        changeKey.object('1', 'food', 'soup'),
      ]));
      // A read-only call leaves no mark.
      await s.getUsers('1', ['ann']);
      assert.equal(await s.changes.position(), got.position);
    } finally {
      await s.close();
    }
  });

  it('a reaction marks its activity\'s reactions, itself and its parent, not the activity', async () => {
    const s = new SqliteStore(':memory:');
    try {
      const act = { id: '00000000-0000-1000-8000-000000000003', foreignId: '', timeUs: 3, home: 'user:ann', to: [], body: '{}' };
      await s.commit('1', { activities: [act], entries: [{ feed: 'user:ann', id: act.id, origin: null, maxLength: 10 }] });
      const start = await s.changes.position();
      const r = { id: 'r1', kind: 'comment', activityId: act.id, userId: 'bob', parent: '', depth: 1, data: '{}', targetFeeds: [], createdUs: 4, updatedUs: 4, deletedUs: null };
      const child = { ...r, id: 'r2', parent: 'r1', depth: 2, createdUs: 5, updatedUs: 5 };
      await s.commit('1', { reactions: { add: [r, child] } });
      const got = await s.changes.changesSince(start);
      assert.deepEqual(new Set(got.keys), new Set([changeKey.reactions('1', act.id), changeKey.reaction('1', 'r1'), changeKey.reaction('1', 'r2')]));
    } finally {
      await s.close();
    }
  });

  it('a direct entry of a pull-served feed marks the app\'s merged reads', async () => {
    const s = new SqliteStore(':memory:');
    try {
      await s.commit('1', { follows: [{ source: 'timeline:bob', target: 'user:star', createdUs: 1, pullAbove: 0 }] });
      const start = await s.changes.position();
      const act = { id: '00000000-0000-1000-8000-000000000002', foreignId: '', timeUs: 2, home: 'user:star', to: [], body: '{}' };
      await s.commit('1', { activities: [act], entries: [{ feed: 'user:star', id: act.id, origin: null, maxLength: 10 }] });
      assert.ok((await s.changes.changesSince(start)).keys.includes(changeKey.pulled('1')));
      assert.ok(!batchChanges('1', { entries: [{ feed: 'user:star', id: act.id, origin: null, maxLength: 10 }] }).has(changeKey.pulled('1')));
    } finally {
      await s.close();
    }
  });
});
