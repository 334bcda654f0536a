import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { activityId, compareIds } from '../activities/activity-id.js';
import { countMerged, mergeSources, mergeTimeline, oldestKept, planMergeScans, pulledShown, type MergeEntry, type MergeRange, type PulledSource } from './merge-timeline.js';

/** Ids at times 1..n seconds (ascending time). */
const ids = Array.from({ length: 40 }, (_, i) => activityId((i + 1) * 1_000_000, `a${i}`));

/** Newest first, within the range's bounds, as a store's range scan returns them. */
function scan(entries: readonly MergeEntry[], r: { lt?: string; lte?: string; gt?: string; gte?: string; from?: string | null }, limit: number): MergeEntry[] {
  return [...entries]
    .filter(
      (e) =>
        (r.lt === undefined || compareIds(e.id, r.lt) < 0) &&
        (r.lte === undefined || compareIds(e.id, r.lte) <= 0) &&
        (r.gt === undefined || compareIds(e.id, r.gt) > 0) &&
        (r.gte === undefined || compareIds(e.id, r.gte) >= 0) &&
        (r.from == null || compareIds(e.id, r.from) >= 0),
    )
    .sort((a, b) => compareIds(b.id, a.id))
    .slice(0, limit);
}

/** The rule stated plainly: the whole merged list as a push-served feed would hold it, then the page. */
function model(own: MergeEntry[], pulled: { feed: string; since: string | null; entries: MergeEntry[] }[], floor: string | null, hidden: Set<string>, range: MergeRange): MergeEntry[] {
  const all = new Map<string, MergeEntry>();
  for (const e of own) all.set(e.id, e);
  for (const p of pulled) {
    for (const e of p.entries) {
      if (hidden.has(e.id) || all.has(e.id)) continue;
      if (p.since !== null && compareIds(e.id, p.since) < 0) continue;
      all.set(e.id, { id: e.id, origin: p.feed });
    }
  }
  let list = [...all.values()].filter((e) => floor === null || compareIds(e.id, floor) >= 0).sort((a, b) => compareIds(b.id, a.id));
  list = list.slice(0, range.maxLength ?? Infinity);
  return scan(list, { lt: range.idLt, lte: range.idLte, gt: range.idGt, gte: range.idGte }, Infinity).slice(range.offset, range.offset + range.limit);
}

/** A merged read the way a service issues it: plan, scans of single feeds, merge. */
function read(own: MergeEntry[], pulled: { feed: string; since: string | null; entries: MergeEntry[] }[], floor: string | null, hidden: Set<string>, range: MergeRange): MergeEntry[] {
  const total = own.length + pulled.reduce((n, p) => n + p.entries.length, 0);
  const plan = planMergeScans(range, total, hidden.size);
  const bounds = { lt: range.idLt, lte: range.idLte, gt: range.idGt, gte: range.idGte };
  const later = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : compareIds(a, b) >= 0 ? a : b);
  const view = { floor, hidden };
  let above = 0;
  if (plan.countAbove) {
    const c = plan.countAbove;
    const b = c.inclusive ? { gte: c.from } : { gt: c.from };
    above = countMerged(
      scan(own, { ...b, from: floor }, c.limit),
      pulled.map((p) => ({ feed: p.feed, since: p.since, entries: scan(p.entries, { ...b, from: later(floor, p.since) }, c.limit) })),
      view,
      range.maxLength!,
    );
  }
  const sources: PulledSource<MergeEntry>[] = pulled.map((p) => ({ feed: p.feed, since: p.since, entries: scan(p.entries, { ...bounds, from: later(floor, p.since) }, plan.depth) }));
  return mergeTimeline(scan(own, bounds, plan.depth), sources, view, range, above);
}

describe('mergeTimeline', () => {
  it('merges newest first, keeps the own entry of a duplicate and names the pulled feed as origin', () => {
    const own = [{ id: ids[5], origin: 'user:b' }, { id: ids[2], origin: null }];
    const star = { feed: 'user:star', since: null, entries: [{ id: ids[6], origin: null }, { id: ids[5], origin: null }, { id: ids[1], origin: null }] };
    const got = mergeSources(own, [star], { floor: null, hidden: new Set() });
    assert.deepEqual(got, [
      { id: ids[6], origin: 'user:star' },
      { id: ids[5], origin: 'user:b' },
      { id: ids[2], origin: null },
      { id: ids[1], origin: 'user:star' },
    ]);
  });

  it('leaves out hidden pulled ids, pulled entries before since, and everything below the floor', () => {
    const own = [{ id: ids[9], origin: null }, { id: ids[1], origin: null }];
    const star = { feed: 'user:star', since: ids[3], entries: [8, 7, 4, 3, 2].map((i) => ({ id: ids[i], origin: null })) };
    const got = mergeSources(own, [star], { floor: ids[2], hidden: new Set([ids[7]]) });
    assert.deepEqual(got.map((e) => e.id), [ids[9], ids[8], ids[4], ids[3]]);
  });

  it('cuts the merged list at max_length before a page deep in the feed', () => {
    const own = [10, 8, 6, 4, 2].map((i) => ({ id: ids[i], origin: null }));
    const pulled = [{ feed: 'user:star', since: null, entries: [9, 7, 5, 3, 1].map((i) => ({ id: ids[i], origin: null })) }];
    const range = { idLt: ids[5], limit: 10, offset: 0, maxLength: 7 };
    // The feed would hold 10..4; below id 5 that leaves 4 only.
    assert.deepEqual(read(own, pulled, null, new Set(), range).map((e) => e.id), [ids[4]]);
  });

  it('finds the oldest entry a push-served feed would keep', () => {
    const own = [{ id: ids[3], origin: null }];
    const pulled = [{ feed: 'user:star', since: null, entries: [5, 4, 2, 1].map((i) => ({ id: ids[i], origin: null })) }];
    assert.equal(oldestKept(own, pulled, { floor: null, hidden: new Set() }, 3), ids[3]);
    assert.equal(oldestKept(own, pulled, { floor: null, hidden: new Set() }, 5), null);
    assert.equal(oldestKept(own, [], { floor: null, hidden: new Set() }, 1), null);
  });

  it('shows a pulled entry once, when direct, not hidden and not before its source\'s since', () => {
    const pulled = [
      { feed: 'user:a', since: ids[3], entries: [{ id: ids[5], origin: null }, { id: ids[2], origin: null }, { id: ids[6], origin: 'user:x' }] },
      { feed: 'user:b', since: null, entries: [{ id: ids[5], origin: null }, { id: ids[1], origin: null }, { id: ids[7], origin: null }] },
    ];
    assert.deepEqual(pulledShown(pulled, new Set([ids[7]])), [
      { id: ids[5], origin: 'user:a' },
      { id: ids[1], origin: 'user:b' },
    ]);
    assert.deepEqual(pulledShown([], new Set()), []);
  });

  it('equals the plain rule for any feeds, hides, floors, bounds and max lengths', () => {
    const idx = fc.integer({ min: 0, max: 39 });
    const entries = fc.uniqueArray(idx, { maxLength: 15 });
    fc.assert(
      fc.property(
        entries,
        fc.array(fc.record({ entries, since: fc.option(idx, { nil: null }) }), { maxLength: 3 }),
        fc.uniqueArray(idx, { maxLength: 5 }),
        fc.option(idx, { nil: null }),
        fc.record({ lt: fc.option(idx, { nil: undefined }), lte: fc.option(idx, { nil: undefined }), gt: fc.option(idx, { nil: undefined }), gte: fc.option(idx, { nil: undefined }) }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 5 }),
        fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
        (ownIdx, pulledIdx, hiddenIdx, floorIdx, b, limit, offset, maxLength) => {
          const own = ownIdx.map((i) => ({ id: ids[i], origin: i % 3 === 0 ? 'user:x' : null }));
          const pulled = pulledIdx.map((p, n) => ({ feed: `user:p${n}`, since: p.since === null ? null : ids[p.since], entries: p.entries.map((i) => ({ id: ids[i], origin: null })) }));
          const hidden = new Set(hiddenIdx.map((i) => ids[i]));
          const floor = floorIdx === null ? null : ids[floorIdx];
          const range: MergeRange = {
            idLt: b.lt === undefined ? undefined : ids[b.lt],
            idLte: b.lte === undefined ? undefined : ids[b.lte],
            idGt: b.gt === undefined ? undefined : ids[b.gt],
            idGte: b.gte === undefined ? undefined : ids[b.gte],
            limit,
            offset,
            maxLength,
          };
          assert.deepEqual(read(own, pulled, floor, hidden, range), model(own, pulled, floor, hidden, range));
        },
      ),
      { numRuns: 500 },
    );
  });
});
