import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withOrigin } from '../core/activities/activity.js';
import { plainBytes, plainBytesRenderer, plainRenderer } from './enrich.js';

const items = [
  { body: '{"id":"a","actor":"SU:ann","verb":"post","text":"héllo ✓ 😀"}', origin: null, id: 'a' },
  { body: '{"id":"b","actor":"bob","verb":"like"}', origin: 'user:b"ob', id: 'b' },
  { body: '{"id":"c","verb":"x"}', origin: 'timeline:ann', id: 'c' },
];

test('plain bytes are the plain texts joined by commas, byte for byte', async () => {
  const text = (await plainRenderer(items)).join(',');
  assert.deepEqual(await plainBytesRenderer(items), await plainRenderer(items));
  assert.equal(plainRenderer.bytes, undefined); // callers reading texts (the dashboard) get texts
  assert.equal(text, items.map((i) => withOrigin(i.body, i.origin)).join(','));
  assert.equal(Buffer.concat(plainBytes(items)!).toString(), text);
  assert.deepEqual(Buffer.concat(plainBytes(items)!), Buffer.from(text));
});

test('plain bytes follow the body they are given: an updated body gives its own bytes', () => {
  const before = { body: '{"id":"u","verb":"post","n":1}', origin: null };
  const after = { body: '{"id":"u","verb":"post","n":2}', origin: null };
  assert.equal(Buffer.concat(plainBytes([before])!).toString(), withOrigin(before.body, null));
  assert.equal(Buffer.concat(plainBytes([after])!).toString(), withOrigin(after.body, null));
  assert.equal(Buffer.concat(plainBytes([before])!).toString(), withOrigin(before.body, null));
});

test('an empty page has no bytes (the text path answers it)', () => {
  assert.equal(plainBytes([]), null);
});

test('plain bytes of a body shown with another origin than it was kept with are the same as its text', () => {
  const body = '{"id":"o","verb":"post","text":"é ✓"}';
  const other = '{"id":"p","verb":"post"}';
  const pages = [
    [{ body, origin: 'user:ann' }, { body: other, origin: null }, { body, origin: 'user:ann' }],
    [{ body: other, origin: null }, { body, origin: 'timeline:bob' }, { body, origin: null }, { body, origin: 'user:ann' }],
    [{ body, origin: 'timeline:bob' }, { body: other, origin: 'user:"q"' }],
  ];
  for (const page of pages) {
    const text = page.map((i) => withOrigin(i.body, i.origin)).join(',');
    assert.deepEqual(Buffer.concat(plainBytes(page)!), Buffer.from(text));
  }
});
