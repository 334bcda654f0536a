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
