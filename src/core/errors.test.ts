import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CATALOGUE } from './errors.js';

describe('error catalogue', () => {
  it('is documented entry by entry, and the docs name no entry that does not exist', () => {
    const doc = readFileSync(new URL('../../docs/api-decisions.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\w+)` \| (\d+) \| (-?\d+) \| `(\w+)` \|/gm)].map((m) => ({
      key: m[1],
      status: Number(m[2]),
      code: Number(m[3]),
      exception: m[4],
    }));
    const documented = new Map(rows.map((r) => [r.key, r]));
    for (const [key, entry] of Object.entries(CATALOGUE)) {
      const row = documented.get(key);
      assert.ok(row, `catalogue entry ${key} is documented`);
      assert.deepEqual([row.status, row.code, row.exception], [entry.status, entry.code, entry.exception], key);
    }
    for (const key of documented.keys()) assert.ok(key in CATALOGUE, `documented entry ${key} exists`);
  });
});
