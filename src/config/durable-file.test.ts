import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureDataDirConfig } from './config.js';
import { writeFileDurably } from './durable-file.js';

describe('writeFileDurably', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'rivulet-durable-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('writes the whole text, readable by its owner only, and leaves no temporary file', () => {
    const d = dir();
    const file = join(d, 'a.json');
    assert.equal(writeFileDurably(file, '{"a":1}\n'), true);
    assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(writeFileDurably(file, '{"a":2}\n'), true);
    assert.equal(readFileSync(file, 'utf8'), '{"a":2}\n');
    assert.deepEqual(readdirSync(d), ['a.json']);
  });

  it('exclusive: writes nothing over a file that exists, and says so', () => {
    const d = dir();
    const file = join(d, 'a.json');
    writeFileSync(file, 'first');
    assert.equal(writeFileDurably(file, 'second', true), false);
    assert.equal(readFileSync(file, 'utf8'), 'first');
    assert.deepEqual(readdirSync(d), ['a.json']);
  });

  it('a first start after one killed while writing its app.json creates a whole one', () => {
    // The crash left only the temporary file: the name app.json was never taken by a partial text.
    const d = dir();
    writeFileSync(join(d, `.app.json.4242.0badf00d.tmp`), '{"apps":[{"app_');
    const made = ensureDataDirConfig(d);
    assert.equal(made.created, true);
    assert.deepEqual(JSON.parse(readFileSync(join(d, 'app.json'), 'utf8')), JSON.parse(made.text));
    const again = ensureDataDirConfig(d);
    assert.equal(again.created, false);
    assert.equal(again.config.apps[0].apiKey, made.config.apps[0].apiKey);
  });
});
