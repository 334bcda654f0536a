import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../errors.js';
import { finishActivity, parseActivity, withOrigin } from './activity.js';

const noTo = (v: unknown) => String(v);

describe('activity', () => {
  it('coerces numbers, keeps custom fields and serializes the stored form', () => {
    const d = parseActivity({ actor: 1, verb: 'post', object: 3, foreign_id: 1234, extra: { n: [1, true] }, id: 'ignored' }, noTo);
    const a = finishActivity(d, 1714557600000000);
    const obj = JSON.parse(withOrigin(a.body, null));
    assert.deepEqual(Object.keys(obj).sort(), ['actor', 'extra', 'foreign_id', 'id', 'object', 'origin', 'target', 'time', 'verb']);
    assert.equal(obj.actor, '1');
    assert.equal(obj.object, '3');
    assert.equal(obj.foreign_id, '1234');
    assert.equal(obj.target, '');
    assert.equal(obj.origin, null);
    assert.equal(obj.time, '2024-05-01T10:00:00.000000');
    assert.deepEqual(obj.extra, { n: [1, true] });
    assert.equal(JSON.parse(withOrigin(a.body, 'user:x')).origin, 'user:x');
  });

  it('rejects missing or malformed required fields', () => {
    const bad: unknown[] = [
      null,
      [],
      { verb: 'v', object: 'o' },
      { actor: 'a', object: 'o' },
      { actor: 'a', verb: 'v' },
      { actor: 'a', verb: 'v', object: '' },
      { actor: { id: 1 }, verb: 'v', object: 'o' },
      { actor: 'a', verb: 'v', object: 'o', to: 'abc' },
      { actor: 'a', verb: 'v', object: 'o', time: 'aap' },
      { actor: 'a', verb: 'x'.repeat(256), object: 'o' },
      { actor: 'a', verb: 'v', object: 'o', own_reactions: {} },
    ];
    for (const b of bad) assert.throws(() => parseActivity(b, noTo), InputError, JSON.stringify(b)?.slice(0, 60));
  });

  it('rejects activities larger than 10 KB', () => {
    const d = parseActivity({ actor: 'a', verb: 'v', object: 'o', blob: 'x'.repeat(10_300) }, noTo);
    assert.throws(() => finishActivity(d, 1), InputError);
  });

  it('gives the same foreign_id and time the same id, and different content different ids', () => {
    const a = finishActivity(parseActivity({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'f' }, noTo), 5);
    const b = finishActivity(parseActivity({ actor: 'b', verb: 'w', object: 'p', foreign_id: 'f' }, noTo), 5);
    const c = finishActivity(parseActivity({ actor: 'a', verb: 'v', object: 'o' }, noTo), 5);
    const d = finishActivity(parseActivity({ actor: 'a', verb: 'v', object: 'o2' }, noTo), 5);
    assert.equal(a.id, b.id);
    assert.notEqual(c.id, d.id);
  });
});

it('server-timed activities of two processes at the same microsecond get different ids; explicit times do not', () => {
  const noTo = (v: unknown) => String(v);
  const draft = () => parseActivity({ actor: 'a', verb: 'v', object: 'o' }, noTo);
  const one = finishActivity(draft(), 7, 'process-1');
  const two = finishActivity(draft(), 7, 'process-2');
  assert.notEqual(one.id, two.id);
  assert.equal(finishActivity(draft(), 7, 'process-1').id, one.id);
  assert.equal(finishActivity(draft(), 7).id, finishActivity(draft(), 7).id);
  const withFid = (w: string) => finishActivity(parseActivity({ actor: 'a', verb: 'v', object: 'o', foreign_id: 'f' }, noTo), 7, w).id;
  assert.equal(withFid('process-1'), withFid('process-2'));
});
