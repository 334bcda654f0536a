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
  });

  it('rejects text that is not a time', () => {
    for (const bad of ['aap', '', '2024-13-01T00:00:00', '2024-02-31T00:00:00', '2024-05-01T25:00:00', '1714557600']) {
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
