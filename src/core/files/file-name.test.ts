import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_NAME_BYTES, safeFileName, withExtension } from './file-name.js';

describe('safeFileName', () => {
  it('keeps the last path segment without control characters', () => {
    assert.equal(safeFileName('C:\\Users\\me\\cat picture.JPG'), 'cat picture.JPG');
    assert.equal(safeFileName('../../etc/passwd'), 'passwd');
    assert.equal(safeFileName('a\u0000b\nc.txt'), 'abc.txt');
    assert.equal(safeFileName('  spaced.txt  '), 'spaced.txt');
  });

  it('names an empty, dot or missing name "file"', () => {
    for (const raw of [undefined, '', '.', '..', 'dir/', '\u0001']) assert.equal(safeFileName(raw), 'file', String(raw));
  });

  it('cuts long names to the byte limit, keeping the extension and whole characters', () => {
    const cut = safeFileName('ü'.repeat(300) + '.jpeg');
    assert.ok(Buffer.byteLength(cut) <= MAX_NAME_BYTES);
    assert.ok(cut.endsWith('ü.jpeg'));
  });

  it('replaces an extension', () => {
    assert.equal(withExtension('photo.jpg', 'png'), 'photo.png');
    assert.equal(withExtension('photo', 'png'), 'photo.png');
    assert.equal(withExtension('.hidden', 'png'), '.hidden.png');
  });
});
