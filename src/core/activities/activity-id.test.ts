import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activityId, idToSortKey, isUuid, sortKeyToId, timeOfId } from './activity-id.js';

describe('activity ids', () => {
  it('are version-1 UUIDs whose timestamp is the activity time', () => {
    const t = 1714557600123456;
    const id = activityId(t, 'f\u0000pin:7');
    assert.ok(isUuid(id));
    assert.equal(id[14], '1');
    assert.equal(timeOfId(id), t);
  });

  it('are deterministic in time and identity', () => {
    assert.equal(activityId(1, 'a'), activityId(1, 'a'));
    assert.notEqual(activityId(1, 'a'), activityId(1, 'b'));
    assert.notEqual(activityId(1, 'a'), activityId(2, 'a'));
  });

  it('sort keys order by time first and round-trip', () => {
    const ids = [];
    for (let i = 0; i < 200; i++) ids.push(activityId(1714557600000000 + (i % 50) * 4_294_967_296 + i * 37, `x${i}`));
    for (const id of ids) assert.equal(sortKeyToId(idToSortKey(id)), id);
    const byKey = [...ids].sort((a, b) => Buffer.compare(idToSortKey(a), idToSortKey(b)));
    for (let i = 1; i < byKey.length; i++) assert.ok(timeOfId(byKey[i - 1]) <= timeOfId(byKey[i]));
  });
});
