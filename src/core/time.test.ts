import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatActivityTime, formatTimestamp, parseTime } from './time.js';

describe('time', () => {
  it('parses the formats clients send, all as UTC instants', () => {
    const us = Date.UTC(2024, 4, 1, 10, 0, 0) * 1000;
    assert.equal(parseTime('2024-05-01T10:00:00'), us);
    assert.equal(parseTime('2024-05-01T10:00:00Z'), us);
    assert.equal(parseTime('2024-05-01T10:00:00.123Z'), us + 123_000);
    assert.equal(parseTime('2024-05-01T10:00:00.123456'), us + 123_456);
    assert.equal(parseTime('2024-05-01T10:00:00.123456789'), us + 123_456);
    assert.equal(parseTime('2024-05-01 10:00:00.5'), us + 500_000);
    assert.equal(parseTime('2024-05-01T12:00:00+02:00'), us);
    assert.equal(parseTime('2024-05-01T05:30:00-0430'), us);
    // Ruby's Time#to_s (Time#to_json without Rails) and PHP's DateTime::ISO8601.
    assert.equal(parseTime('2024-05-01 10:00:00 UTC'), us);
    assert.equal(parseTime('2024-05-01 12:00:00 +0200'), us);
    assert.equal(parseTime('2024-05-01T10:00:00+0000'), us);
  });

  it('rejects text that is not a time', () => {
    for (const bad of ['aap', '', '2024-05-01 10:00:00 CEST', '2024-05-01 10:00:00 utc', '2024-13-01T00:00:00', '2024-02-31T00:00:00', '2024-05-01T25:00:00', '1714557600']) {
      assert.equal(parseTime(bad), null, bad);
    }
  });

  it('formats activity times with six fractional digits and no zone', () => {
    const us = Date.UTC(2024, 4, 1, 9, 58, 41) * 1000 + 4200;
    assert.equal(formatActivityTime(us), '2024-05-01T09:58:41.004200');
    assert.equal(formatTimestamp(us), '2024-05-01T09:58:41.004200Z');
    assert.equal(parseTime(formatActivityTime(us)), us);
  });
});

it('formats any time as the part-by-part formatting does', () => {
  const slow = (us: number) => {
    const ms = Math.floor(us / 1000);
    const d = new Date(ms);
    const micros = us - ms * 1000 + (ms % 1000) * 1000;
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(micros, 6)}`;
  };
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 5000; i++) {
    const us = (next() * 2 ** 21 + next()) % 4_102_444_800_000_000; // 1970 … 2100
    assert.equal(formatActivityTime(us), slow(us), String(us));
  }
  for (const us of [0, 999, 1_000_000, 253_402_300_799_999_999]) assert.equal(formatActivityTime(us), slow(us), String(us));
});
