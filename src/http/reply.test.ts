import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeForSend, joinForSend } from './reply.js';

test('pages joined for sending keep their bytes while later pages are joined', () => {
  const made: { out: Buffer; want: Buffer }[] = [];
  // Sizes from a few bytes to past the shared block's limit, so joins cross block ends and some
  // pages get a buffer of their own.
  for (let i = 0; i < 400; i++) {
    const size = [3, 700, 7_000, 40_000, 70_000][i % 5] + i;
    const pieces = [Buffer.from('{"results":['), Buffer.alloc(size, 97 + (i % 26)), Buffer.from(`],"next":"${i}"`)];
    made.push({ out: joinForSend(pieces), want: Buffer.concat(pieces) });
  }
  for (const { out, want } of made) assert.ok(out.equals(want));
  assert.equal(joinForSend([]).length, 0);
});

test('pages joined with their end are the pieces then the end, byte for byte', () => {
  const made: { out: Buffer; want: Buffer }[] = [];
  for (let i = 0; i < 200; i++) {
    const size = [0, 5, 7_000, 70_000][i % 4] + i;
    const end = `,"duration":"${i}.25ms"}`;
    const pieces = [Buffer.from('{"results":['), Buffer.alloc(size, 'é'), Buffer.from(`],"next":"${i}"`)];
    made.push({ out: joinForSend(pieces, end), want: Buffer.concat([...pieces, Buffer.from(end)]) });
  }
  for (const { out, want } of made) assert.ok(out.equals(want));
  assert.equal(joinForSend([], '}').toString(), '}');
});

test('texts encoded for sending are their UTF-8 bytes and keep them while later texts are encoded', () => {
  const made: { out: Buffer; want: Buffer }[] = [];
  // ASCII, two-, three- and four-byte characters; sizes up to past the shared block's limit.
  const chars = ['a', 'é', '€', '😀', '"\\u0000"'];
  for (let i = 0; i < 300; i++) {
    const text = '{"results":[' + chars[i % chars.length].repeat([0, 3, 2_000, 15_000, 45_000][i % 5] + i);
    const end = i % 3 === 0 ? '' : `,"duration":"${i}.25ms"}`;
    made.push({ out: encodeForSend(text, end), want: Buffer.from(text + end) });
  }
  for (const { out, want } of made) assert.ok(out.equals(want));
  assert.equal(encodeForSend('').length, 0);
});
