import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { activityId, idToSortKey, isUuid, randomTimeId, sortKeyToId, timeOfId, uuidTimeUs } from './activity-id.js';

/** The id as RFC 4122 lays it out, worked out with BigInt and a SHA-1 object (the reference). */
function referenceId(timeUs: number, identity: string): string {
  const ts = BigInt(timeUs) * 10n + 0x01b21dd213814000n;
  const h = createHash('sha1').update(identity).digest();
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return [
    hex(Number(ts & 0xffffffffn), 8),
    hex(Number((ts >> 32n) & 0xffffn), 4),
    hex(Number((ts >> 48n) & 0x0fffn) | 0x1000, 4),
    hex((((h[0] << 8) | h[1]) & 0x3fff) | 0x8000, 4),
    h.subarray(2, 8).toString('hex'),
  ].join('-');
}

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

  it('lay out time and hash as RFC 4122 does, for times before 1970 and far ahead too', () => {
    const times = [0, 1, -1, 999_999, 1714557600123456, 2 ** 32 - 1, 2 ** 32, -(2 ** 40) - 7, 4102444800000000, 2 ** 52 + 3];
    let x = 0x9e3779b9;
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      times.push(Math.floor((x / 2 ** 32 - 0.2) * 5e15) + i);
    }
    for (const t of times) assert.equal(activityId(t, `f\u0000post:${t}`), referenceId(t, `f\u0000post:${t}`), `time ${t}`);
  });

  it('with random other bits (reactions) carry their time and the RFC 4122 variant, and differ', () => {
    const t = 1714557600123456;
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const id = randomTimeId(t + i);
      assert.ok(isUuid(id));
      assert.equal(id[14], '1');
      assert.ok('89ab'.includes(id[19]), id);
      assert.equal(uuidTimeUs(id), t + i);
      assert.equal(id.slice(0, 19), referenceId(t + i, 'x').slice(0, 19));
      ids.add(id.slice(19));
    }
    assert.equal(ids.size, 100);
  });
});
