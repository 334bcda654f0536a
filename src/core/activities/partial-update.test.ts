import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../errors.js';
import { applyPartial, validateChange } from './partial-update.js';

describe('partial update', () => {
  it('sets dotted paths, creating objects, and unsets paths', () => {
    const obj = { product: { name: 'shoe', price: 10 }, color: 'red', ingredients: { meat: 1, bun: 2 } };
    const out = applyPartial(obj, { 'product.price': 7.99, 'a.b.c': 1, foo: { bar: 1 } }, ['color', 'ingredients.meat', 'missing.path']);
    assert.deepEqual(out, { product: { name: 'shoe', price: 7.99 }, ingredients: { bun: 2 }, a: { b: { c: 1 } }, foo: { bar: 1 } });
    assert.equal(obj.color, 'red', 'the input is not modified');
  });

  it('refuses identity fields, prototype paths and malformed values', () => {
    assert.throws(() => validateChange({ id: 'x' }, [], 'c'), InputError);
    assert.throws(() => validateChange({ 'time.x': 1 }, [], 'c'), InputError);
    assert.throws(() => validateChange({}, ['foreign_id'], 'c'), InputError);
    assert.throws(() => validateChange({ '__proto__.x': 1 }, [], 'c'), InputError);
    assert.throws(() => validateChange({ 'a..b': 1 }, [], 'c'), InputError);
    assert.throws(() => validateChange([1], [], 'c'), InputError);
    // PHP's empty array: nothing to set.
    assert.deepEqual(validateChange([], ['color'], 'c'), { set: {}, unset: ['color'] });
    assert.throws(() => validateChange({}, 'color', 'c'), InputError);
    assert.deepEqual(validateChange(undefined, undefined, 'c'), { set: {}, unset: [] });
  });
});
