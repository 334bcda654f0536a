import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isActiveType, sniffedType } from './sniff.js';

describe('sniffing', () => {
  it('tells text from binary by the first 512 bytes', () => {
    assert.equal(sniffedType(Buffer.from('hello\nworld\t✓')), 'text/plain');
    assert.equal(sniffedType(Buffer.from([0x68, 0x00, 0x69])), 'application/octet-stream');
    assert.equal(sniffedType(Buffer.concat([Buffer.alloc(600, 0x61), Buffer.from([0])])), 'text/plain');
    assert.equal(sniffedType(Buffer.alloc(0)), 'text/plain');
  });

  it('names types a browser would run in the origin', () => {
    for (const t of ['text/html', 'TEXT/HTML; charset=utf-8', 'application/xhtml+xml', 'image/svg+xml', 'text/xml', 'application/javascript', 'text/css', 'application/pdf', 'multipart/mixed', '', 'nonsense', 'a/b c']) {
      assert.equal(isActiveType(t), true, t);
    }
    for (const t of ['text/plain', 'image/png', 'application/zip', 'video/mp4', 'application/vnd.ms-excel']) assert.equal(isActiveType(t), false, t);
  });
});
