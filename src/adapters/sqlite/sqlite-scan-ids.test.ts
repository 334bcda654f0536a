import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIds } from './sqlite-feed-stores.js';

const names = { feedName: (id: number) => `user:${id}` };
const hex = (n: number) => n.toString(16).padStart(32, '0');
const id = (n: number) => {
  const h = hex(n);
  return `${h.slice(8, 16)}-${h.slice(4, 8)}-${h.slice(0, 4)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

test('an ids scan text becomes entries: the id from the sort key, the origin by name, none when direct', () => {
  assert.deepEqual(parseIds(`${hex(30)}7,${hex(20)},${hex(10)}12`, names), [
    { id: id(30), origin: 'user:7' },
    { id: id(20), origin: null },
    { id: id(10), origin: 'user:12' },
  ]);
});

test('an ids scan text whose entries come out of order is put newest first', () => {
  assert.deepEqual(
    parseIds(`${hex(20)},${hex(30)}7,${hex(10)}`, names).map((e) => e.id),
    [id(30), id(20), id(10)],
  );
});
