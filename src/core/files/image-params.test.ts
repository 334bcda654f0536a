import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../errors.js';
import { paramsKey, parseImageParams } from './image-params.js';

describe('image processing parameters', () => {
  it('defaults to clip and center, and keeps one side open', () => {
    assert.deepEqual(parseImageParams({ w: '50', h: '40' }), { w: 50, h: 40, resize: 'clip', crop: ['center'] });
    assert.deepEqual(parseImageParams({ h: '40' }), { w: null, h: 40, resize: 'clip', crop: ['center'] });
  });

  it('takes every resize mode and one or two crop edges', () => {
    for (const resize of ['clip', 'crop', 'scale', 'fill']) assert.equal(parseImageParams({ w: '1', resize }).resize, resize);
    assert.deepEqual(parseImageParams({ w: '1', crop: 'bottom,right' }).crop, ['bottom', 'right']);
    assert.deepEqual(parseImageParams({ w: '1', crop: 'Left, TOP' }).crop, ['left', 'top']);
  });

  it('refuses bad sizes, modes and edges with 400/4', () => {
    for (const q of [{}, { w: '-1' }, { h: '-1' }, { w: '0' }, { w: '4097' }, { w: '1.5' }, { w: 'x' }, { w: '1', resize: 'impossible' },
      { w: '1', crop: 'impossible' }, { w: '1', crop: 'top,bottom' }, { w: '1', crop: 'left,right' }, { w: '1', crop: 'top,left,center' }, { w: '1', crop: 'center,top' }]) {
      assert.throws(() => parseImageParams(q), InputError, JSON.stringify(q));
    }
  });

  it('gives the same key to the same processing however it was spelled', () => {
    assert.equal(paramsKey(parseImageParams({ w: '5', crop: 'right,bottom' })), paramsKey(parseImageParams({ w: '5', crop: 'bottom,right', resize: 'clip' })));
    assert.notEqual(paramsKey(parseImageParams({ w: '5' })), paramsKey(parseImageParams({ w: '5', h: '5' })));
  });
});
