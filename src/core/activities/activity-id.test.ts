import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activityId, idToSortKey, isUuid, sortKeyToId, timeOfId, uuidTimeUs } from './activity-id.js';

describe('activity ids', () => {
  it('are version-1 UUIDs whose timestamp is the activity time', () => {
    const t = 1714557600123456;
    const id = activityId(t, 'f\u0000pin:7');
    assert.ok(isUuid(id));
    assert.equal(id[14], '1');
    assert.equal(timeOfId(id), t);
  });

  it('give back their time; other UUID versions and non-UUIDs give none', () => {
    const us = 1714557600123456;
    assert.equal(uuidTimeUs(activityId(us, 'x')), us);
    assert.equal(uuidTimeUs(activityId(us, 'x').toUpperCase()), us);
    assert.equal(uuidTimeUs('87a9eec0-fd5f-11e8-8080-80013fed2f5b'), Date.UTC(2018, 11, 11, 16, 12, 17) * 1000 + 458_144);
    assert.equal(uuidTimeUs('0f8fad5b-d9cb-469f-a165-70867728950e'), null); // version 4
    assert.equal(uuidTimeUs('nope'), null);
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
