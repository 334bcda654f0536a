import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { activityId } from '../activities/activity-id.js';
import { countGroups, markGroups, placeInGroups, removeFromGroups, type Group, type GroupChange, type GroupsRead, type Placement } from './groups.js';

/** A feed's groups in memory: what a store holds, with a change applied as the group port says. */
class Feed {
  groups = new Map<string, Group>();
  counts = { groups: 0, unseen: 0, unread: 0 };
  read(): GroupsRead {
    return { counts: this.counts, groups: [...this.groups.values()] };
  }
  apply(c: GroupChange | null): void {
    if (!c) return;
    if (c.markAll) for (const [id, g] of this.groups) this.groups.set(id, { ...g, seen: true, read: g.read || c.markAll.read });
    for (const id of c.drop) this.groups.delete(id);
    for (const g of c.put) this.groups.set(g.id, g);
    this.counts = c.counts;
  }
}

const at = (s: number, who: string, verb = 'like', key = verb): Placement => ({
  id: activityId(s * 1_000_000, `${who}:${s}:${verb}`),
  origin: null,
  timeUs: s * 1_000_000,
  actor: who,
  verb,
  key,
});
const limits = { maxGroups: 3, maxPerGroup: 2 };

describe('aggregation groups', () => {
  it('groups by key, counts every activity and actor, retains the newest per group', () => {
    const f = new Feed();
    f.apply(placeInGroups(f.read(), [at(1, 'a'), at(2, 'b'), at(3, 'a')], limits));
    const [g] = f.groups.values();
    assert.equal(f.groups.size, 1);
    assert.equal(g.id, at(1, 'a').id); // the creating activity names the group
    assert.equal(g.activityCount, 3);
    assert.deepEqual(g.actors, ['a', 'b']);
    assert.deepEqual(g.entries.map((e) => e.id), [at(3, 'a').id, at(2, 'b').id]);
    assert.equal(g.createdUs, 2_000_000); // oldest retained
    assert.equal(g.updatedUs, 3_000_000);
  });

  it('keeps max groups per feed, dropping the least recently updated', () => {
    const f = new Feed();
    f.apply(placeInGroups(f.read(), [at(1, 'a', 'x'), at(2, 'a', 'y'), at(3, 'a', 'z'), at(4, 'a', 'w')], limits));
    assert.deepEqual([...f.groups.values()].map((g) => g.key).sort(), ['w', 'y', 'z']);
    assert.deepEqual(f.counts, { groups: 3, unseen: 3, unread: 3 });
  });

  it('is idempotent: placing the same activities again changes nothing', () => {
    const f = new Feed();
    const ps = [at(1, 'a'), at(2, 'b', 'follow')];
    f.apply(placeInGroups(f.read(), ps, limits));
    assert.equal(placeInGroups(f.read(), ps, limits), null);
  });

  it('marks seen and read (read implies seen), and a new activity makes a group unseen again', () => {
    const f = new Feed();
    f.apply(placeInGroups(f.read(), [at(1, 'a', 'x'), at(2, 'a', 'y')], limits));
    const [x, y] = [...f.groups.values()];
    f.apply(markGroups(f.read(), undefined, [x.id]));
    assert.deepEqual(f.counts, { groups: 2, unseen: 1, unread: 1 });
    assert.equal(markGroups(f.read(), undefined, [x.id]), null); // again: nothing
    f.apply(markGroups(f.read(), 'all', undefined));
    assert.deepEqual(f.counts, { groups: 2, unseen: 0, unread: 1 });
    assert.equal(f.groups.get(y.id)!.seen, true);
    f.apply(placeInGroups(f.read(), [at(3, 'b', 'x')], limits));
    assert.deepEqual(f.counts, { groups: 2, unseen: 1, unread: 2 });
  });

  it('removal recomputes a group from what it retains and drops an empty one', () => {
    const f = new Feed();
    f.apply(placeInGroups(f.read(), [at(1, 'a'), at(2, 'b'), at(5, 'c', 'follow')], { maxGroups: 9, maxPerGroup: 9 }));
    f.apply(removeFromGroups(f.read(), [at(2, 'b').id]));
    const like = [...f.groups.values()].find((g) => g.key === 'like')!;
    assert.deepEqual(like.actors, ['a']);
    assert.equal(like.updatedUs, 1_000_000);
    assert.equal(like.activityCount, 1);
    f.apply(removeFromGroups(f.read(), [at(5, 'c', 'follow').id]));
    assert.equal(f.groups.size, 1);
    assert.deepEqual(f.counts, countGroups([...f.groups.values()]));
    assert.equal(removeFromGroups(f.read(), [at(5, 'c', 'follow').id]), null);
  });

  it('keeps counters equal to the groups, one activity at a time or in a batch, once or replayed', () => {
    const step = fc.oneof(
      fc.record({ t: fc.constant('place' as const), s: fc.integer({ min: 1, max: 30 }), who: fc.constantFrom('a', 'b', 'c'), verb: fc.constantFrom('like', 'follow', 'post', 'share') }),
      fc.record({ t: fc.constant('remove' as const), s: fc.integer({ min: 1, max: 30 }), who: fc.constantFrom('a', 'b', 'c'), verb: fc.constantFrom('like', 'follow', 'post', 'share') }),
      fc.record({ t: fc.constant('mark' as const), all: fc.boolean(), read: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const f = new Feed();
        for (const st of steps) {
          if (st.t === 'place') {
            const p = at(st.s, st.who, st.verb);
            f.apply(placeInGroups(f.read(), [p], limits));
            assert.equal(placeInGroups(f.read(), [p], limits), null);
          } else if (st.t === 'remove') {
            f.apply(removeFromGroups(f.read(), [at(st.s, st.who, st.verb).id]));
          } else {
            const ids = [...f.groups.keys()].slice(0, 1);
            f.apply(markGroups(f.read(), st.all ? 'all' : ids, st.read ? ids : undefined));
          }
          assert.deepEqual(f.counts, countGroups([...f.groups.values()]));
          assert.ok(f.groups.size <= limits.maxGroups);
          for (const g of f.groups.values()) assert.ok(g.entries.length <= limits.maxPerGroup && g.entries.length > 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
