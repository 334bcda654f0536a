import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activityId } from '../activities/activity-id.js';
import { compileAggregationFormat } from '../aggregation/compile.js';
import type { App, FeedGroup, FeedType } from '../feeds/feed-group.js';
import { emptyPlan, PlanActivities, planAdd, planFollowers, planSize } from './plan.js';

function group(name: string, type: FeedType, format?: string): [string, FeedGroup] {
  const g: FeedGroup = {
    name,
    type,
    aggregationFormat: format,
    groupKey: format ? compileAggregationFormat(format) : undefined,
    rankings: new Map(),
    maxLength: 50,
    maxGroups: 7,
    maxGroupActivities: 3,
    realtime: true,
    public: true,
    followable: true,
  };
  return [name, g];
}

const app: App = {
  appId: '1',
  apiKey: 'k',
  apiSecret: 's',
  groups: new Map([group('user', 'flat'), group('timeline', 'flat'), group('notification', 'notification', '{{ verb }}')]),
};

const T = 1_714_557_600_000_000;
const id = activityId(T, 'post:1');
const acts = new PlanActivities([{ id, timeUs: T, body: JSON.stringify({ id, actor: 'SU:a', verb: 'like', object: 'o' }) }]);

describe('fan-out plan', () => {
  it('puts an activity into flat feeds as entries and into grouped feeds as placements by their format', () => {
    const plan = emptyPlan();
    planAdd(plan, app, 'user:a', id, null, acts);
    planFollowers(plan, app, 'fanout.add', 'user:a', [id], ['timeline:b', 'notification:c'], acts);
    assert.deepEqual(plan.adds, [
      { feed: 'user:a', entries: [{ id, origin: null }], maxLength: 50 },
      { feed: 'timeline:b', entries: [{ id, origin: 'user:a' }], maxLength: 50 },
    ]);
    assert.deepEqual(plan.placements.get('notification:c'), [{ id, origin: 'user:a', key: 'like', timeUs: T, actor: 'SU:a', verb: 'like' }]);
    assert.deepEqual(plan.limits.get('notification:c'), { maxGroups: 7, maxPerGroup: 3 });
    assert.equal(planSize(plan), 3);
  });

  it('gives a page of flat followers one shared entries list that a later add to one of them does not change for the others', () => {
    const plan = emptyPlan();
    const id2 = activityId(T + 1, 'post:2');
    const id3 = activityId(T + 2, 'post:3');
    planFollowers(plan, app, 'fanout.add', 'user:a', [id, id2], ['timeline:b', 'timeline:c', 'notification:c', 'timeline:d'], acts);
    const [b, c, d] = plan.adds;
    assert.equal(b.entries, c.entries);
    assert.equal(c.entries, d.entries);
    // The same feed next: planAdd appends to its own copy.
    planAdd(plan, app, 'timeline:d', id3, null, acts);
    planFollowers(plan, app, 'fanout.add', 'user:z', [id3], ['timeline:d', 'timeline:e'], acts);
    const two = [
      { id, origin: 'user:a' },
      { id: id2, origin: 'user:a' },
    ];
    assert.deepEqual(
      plan.adds.map((a) => [a.feed, a.entries]),
      [
        ['timeline:b', two],
        ['timeline:c', two],
        ['timeline:d', [...two, { id: id3, origin: null }, { id: id3, origin: 'user:z' }]],
        ['timeline:e', [{ id: id3, origin: 'user:z' }]],
      ],
    );
    assert.equal(plan.placements.get('notification:c')?.length, 1);
  });

  it('places nothing into a grouped feed when the activity is gone', () => {
    const plan = emptyPlan();
    planAdd(plan, app, 'notification:c', id, null, new PlanActivities([]));
    assert.equal(planSize(plan), 0);
  });

  it('takes removed ids out of every follower where they came from the source', () => {
    const plan = emptyPlan();
    planFollowers(plan, app, 'fanout.remove', 'user:a', [id], ['timeline:b', 'notification:c'], null);
    assert.deepEqual(plan.removals, [
      { feed: 'timeline:b', ids: [id], origin: 'user:a', grouped: false },
      { feed: 'notification:c', ids: [id], origin: 'user:a', grouped: true },
    ]);
  });
});
