import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LatestQuery, ReactionRecord } from '../../ports/reaction-store.js';
import { activityAt, T0 } from '../../../test/contract/ports-support.js';
import { SqliteStore } from './sqlite-store.js';

/** What {@link LatestQuery} asks, computed from every reaction: per group, the first `n` newest first, all newest first. */
function reference(all: readonly ReactionRecord[], q: LatestQuery): string[] {
  const owners = new Set(q.owners);
  const newest = (a: ReactionRecord, b: ReactionRecord) => b.createdUs - a.createdUs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  const shown = all
    .filter((r) => r.deletedUs === null && (q.of === 'activity' ? r.parent === '' && owners.has(r.activityId) : owners.has(r.parent)))
    .filter((r) => (q.kinds === undefined || q.kinds.includes(r.kind)) && (q.userId === undefined || r.userId === q.userId))
    .sort(newest);
  const taken = new Map<string, number>();
  const out: string[] = [];
  for (const r of shown) {
    const group = `${q.of === 'activity' ? r.activityId : r.parent}|${q.perKind !== undefined ? r.kind : ''}`;
    const k = taken.get(group) ?? 0;
    if (k >= (q.perKind ?? q.perOwner ?? 10)) continue;
    taken.set(group, k + 1);
    out.push(r.id);
  }
  return out;
}

test('latest reactions per activity and kind, and children per parent, are those numbering every reaction gives', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const p = store.ports;
    const app = 'app';
    const acts = Array.from({ length: 6 }, (_, i) => activityAt(i + 1, 'user:a'));
    await p.intents.commit(app, acts.map((activity) => ({ activity })));
    const kinds = ['like', 'comment', 'clap', 'zz'];
    const users = ['ann', 'bob', 'cid'];
    const all: ReactionRecord[] = [];
    // A fixed pseudo-random pattern: activities with none to many reactions of several kinds,
    // some soft-deleted, equal creation times (ordered by id), and children of some of them.
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    for (let i = 0; i < 400; i++) {
      const top = i < 40 || next(3) > 0 || all.length === 0;
      const parent = top ? null : all[next(all.length)];
      const activityId = parent ? parent.activityId : acts[next(acts.length - 1)].id; // the last activity has none
      all.push({
        id: `r${String(next(100000)).padStart(5, '0')}-${i}`,
        kind: kinds[next(kinds.length)],
        activityId,
        userId: users[next(users.length)],
        parent: parent ? parent.id : '',
        depth: parent ? Math.min(parent.depth + 1, 3) : 1,
        data: '{}',
        targetFeeds: [],
        createdUs: T0 + next(150),
        updatedUs: T0,
        deletedUs: next(6) === 0 ? T0 + 1 : null,
      });
    }
    await p.intents.commit(app, [{ reactions: { add: all } }]);
    const owners = [...acts.map((a) => a.id), acts[0].id, 'no-such-activity'];
    const parents = [...new Set(all.filter((r) => r.parent !== '').map((r) => r.parent)), 'no-such-reaction'];
    const queries: LatestQuery[] = [];
    for (const n of [1, 2, 6, 50]) {
      queries.push({ owners, of: 'activity', perKind: n });
      queries.push({ owners, of: 'activity', perKind: n, kinds: ['like', 'clap', 'like', 'none'] });
      queries.push({ owners, of: 'activity', perKind: n, userId: 'bob' });
      queries.push({ owners, of: 'activity', perKind: n, kinds: ['comment'], userId: 'ann' });
      queries.push({ owners, of: 'activity', perOwner: n });
      queries.push({ owners: parents, of: 'reaction', perOwner: n });
      queries.push({ owners: parents, of: 'reaction', perKind: n, userId: 'cid' });
    }
    const check = async () => {
      for (const q of queries) {
        const got = (await p.reactions.latestReactions(app, q)).map((r) => r.id);
        assert.deepEqual(got, reference(all, q), JSON.stringify({ ...q, owners: q.owners.length }));
      }
    };
    await check();
    // Then soft deletes, restores and removals (each through the write step that keeps the counts).
    const live = all.filter((r) => r.deletedUs === null);
    const soft = live.filter((_, i) => i % 7 === 0);
    await p.intents.commit(app, [{ reactions: { softDelete: soft.map((reaction) => ({ reaction, deletedUs: T0 + 2 })) } }]);
    for (const r of soft) Object.assign(r, { deletedUs: T0 + 2 });
    const back = all.filter((r) => r.deletedUs !== null).filter((_, i) => i % 3 === 0);
    await p.intents.commit(app, [{ reactions: { restore: back.map((r) => ({ ...r })) } }]);
    for (const r of back) Object.assign(r, { deletedUs: null });
    // A removal takes the reaction's descendants with it, deepest first (as deleting one does).
    const gone = all.filter((_, i) => i % 11 === 5);
    for (let k = 0; k < gone.length; k++) for (const r of all) if (r.parent === gone[k].id && !gone.includes(r)) gone.push(r);
    gone.sort((a, b) => b.depth - a.depth);
    await p.intents.commit(app, [{ reactions: { remove: gone.map((r) => ({ ...r })) } }]);
    all.splice(0, all.length, ...all.filter((r) => !gone.includes(r)));
    await check();
    const one = (await p.reactions.latestReactions(app, { owners: [acts[0].id], of: 'activity', perKind: 50 }))[0];
    assert.deepEqual(one, all.find((r) => r.id === one.id));
  } finally {
    store.close();
  }
});

test('reactions created at the same time come in the order of their ids as SQLite compares them (UTF-8 bytes), whatever the shape', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const p = store.ports;
    const app = 'app';
    const act = activityAt(1, 'user:a');
    await p.intents.commit(app, [{ activity: act }]);
    // U+E000 sorts before an astral character in UTF-8 but after it in UTF-16 code units.
    const ids = ['a\uE000', 'a\u{1F600}', 'a\u00e9', 'a~', 'b', 'a\uFFFD', 'a'];
    const base = { activityId: act.id, userId: 'ann', depth: 1, data: '{}', targetFeeds: [], createdUs: T0, updatedUs: T0, deletedUs: null };
    const top: ReactionRecord[] = ids.map((id) => ({ ...base, id, kind: 'like', parent: '' }));
    const kids: ReactionRecord[] = ids.map((id) => ({ ...base, id: `c${id}`, kind: 'reply', parent: 'b', depth: 2 }));
    await p.intents.commit(app, [{ reactions: { add: [...top, ...kids] } }]);
    const sqlOrder = (prefix: string) =>
      (store.database.db.prepare('SELECT id FROM reactions WHERE id IN (SELECT value FROM json_each(?)) ORDER BY created DESC, id DESC').pluck().all(
        JSON.stringify(ids.map((id) => prefix + id)),
      ) as string[]);
    const byBytes = (prefix: string) => ids.map((id) => prefix + id).sort((x, y) => Buffer.compare(Buffer.from(y), Buffer.from(x)));
    assert.deepEqual(sqlOrder(''), byBytes(''));
    for (const q of [
      { owners: [act.id], of: 'activity', perKind: 50 },
      { owners: [act.id, act.id], of: 'activity', perKind: 50, userId: 'ann' },
      { owners: [act.id], of: 'activity', perOwner: 50 },
    ] as LatestQuery[]) {
      assert.deepEqual((await p.reactions.latestReactions(app, q)).map((r) => r.id), sqlOrder(''), JSON.stringify(q));
    }
    assert.deepEqual((await p.reactions.latestReactions(app, { owners: ['b', 'b'], of: 'reaction', perOwner: 50 })).map((r) => r.id), sqlOrder('c'));
    // Limits per kind keep the newest in that order.
    assert.deepEqual((await p.reactions.latestReactions(app, { owners: [act.id], of: 'activity', perKind: 3, userId: 'ann' })).map((r) => r.id), sqlOrder('').slice(0, 3));
  } finally {
    store.close();
  }
});

test("a reader's own reactions: the newest per kind of many, theirs only, soft-deleted ones skipped, per activity", async () => {
  const store = new SqliteStore(':memory:');
  try {
    const p = store.ports;
    const app = 'app';
    const acts = [activityAt(1, 'user:a'), activityAt(2, 'user:a'), activityAt(3, 'user:a')];
    await p.intents.commit(app, acts.map((activity) => ({ activity })));
    const all: ReactionRecord[] = [];
    const add = (i: number, activityId: string, userId: string, kind: string, createdUs: number, deletedUs: number | null = null) =>
      all.push({ id: `r${String(i).padStart(4, '0')}`, kind, activityId, userId, parent: '', depth: 1, data: '{}', targetFeeds: [], createdUs, updatedUs: createdUs, deletedUs });
    let i = 0;
    // Others' many reactions around the reader's few; the reader's newest of a kind deleted.
    for (let k = 0; k < 40; k++) add(i++, acts[0].id, k % 2 ? 'bob' : 'cid', k % 3 ? 'like' : 'comment', T0 + k);
    for (let k = 0; k < 9; k++) add(i++, acts[0].id, 'ann', 'comment', T0 + 5 * k);
    add(i++, acts[0].id, 'ann', 'comment', T0 + 100, T0 + 101);
    add(i++, acts[0].id, 'ann', 'like', T0 + 7);
    add(i++, acts[1].id, 'ann', 'like', T0 + 7);
    add(i++, acts[1].id, 'ann', 'like', T0 + 7);
    await p.intents.commit(app, [{ reactions: { add: all } }]);
    for (const q of [
      { owners: acts.map((a) => a.id), of: 'activity', perKind: 5, userId: 'ann' },
      { owners: acts.map((a) => a.id), of: 'activity', perKind: 1, userId: 'ann' },
      { owners: acts.map((a) => a.id), of: 'activity', perKind: 2, userId: 'ann', kinds: ['like'] },
      { owners: [acts[2].id], of: 'activity', perKind: 5, userId: 'ann' },
    ] as LatestQuery[]) {
      const got = (await p.reactions.latestReactions(app, q)).map((r) => r.id);
      assert.deepEqual(got, reference(all, q), JSON.stringify(q));
    }
  } finally {
    store.close();
  }
});
