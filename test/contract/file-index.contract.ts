import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FileIndex, FileRecord } from '../../src/ports/file-index.js';

/** The contract every {@link FileIndex} adapter satisfies; `skip` names tests with their reason. */
export function fileIndexContract(name: string, make: () => Promise<{ index: FileIndex; close(): Promise<void> }>, skip: Record<string, string> = {}): void {
  describe(`file index contract: ${name}`, () => {
    let index: FileIndex;
    let close: () => Promise<void>;
    before(async () => {
      ({ index, close } = await make());
    });
    after(async () => close());
    const test = (title: string, fn: () => Promise<void>) => it(title, skip[title] ? { skip: skip[title] } : {}, fn);
    const app = () => `app-${randomBytes(4).toString('hex')}`;
    let t = 1000;
    const file = (extra: Partial<FileRecord> = {}): FileRecord => ({
      id: randomBytes(12).toString('base64url'),
      name: 'a.txt',
      kind: 'file',
      contentType: 'text/plain',
      size: 3,
      owner: 'alice',
      parent: null,
      variant: null,
      createdUs: t++,
      ...extra,
    });

    test('records files and loads them in one batch, per app', async () => {
      const a = app();
      const f = file();
      const g = file({ kind: 'image', contentType: 'image/png', owner: null, name: 'ünï code.png' });
      assert.deepEqual(await index.addFile(a, f), { record: f, created: true });
      await index.addFile(a, g);
      const got = await index.getFiles(a, [f.id, g.id, 'missing']);
      assert.deepEqual(got.get(f.id), f);
      assert.deepEqual(got.get(g.id), g);
      assert.equal(got.size, 2);
      assert.equal((await index.getFiles(app(), [f.id])).size, 0, 'apps are isolated');
      assert.equal((await index.getFiles(a, [])).size, 0);
    });

    test('records one variant per (parent, variant): a second add returns the first', async () => {
      const a = app();
      const orig = file({ kind: 'image' });
      await index.addFile(a, orig);
      const v1 = file({ kind: 'image', parent: orig.id, variant: `${orig.id}?w=50` });
      const v2 = file({ kind: 'image', parent: orig.id, variant: `${orig.id}?w=50` });
      assert.equal((await index.addFile(a, v1)).created, true);
      assert.deepEqual(await index.addFile(a, v2), { record: v1, created: false });
      assert.deepEqual(await index.findVariant(a, orig.id, `${orig.id}?w=50`), v1);
      assert.equal(await index.findVariant(a, orig.id, `${orig.id}?w=60`), null);
    });

    test('deletes files with their variants, returning what it deleted; unknown ids are no error', async () => {
      const a = app();
      const orig = file({ kind: 'image' });
      const other = file();
      const v = file({ kind: 'image', parent: orig.id, variant: 'x' });
      for (const f of [orig, other, v]) await index.addFile(a, f);
      const gone = await index.deleteFiles(a, [orig.id, 'missing', orig.id]);
      assert.deepEqual(gone.map((g) => g.id).sort(), [orig.id, v.id].sort());
      assert.deepEqual([...(await index.getFiles(a, [orig.id, v.id, other.id])).keys()], [other.id]);
      assert.deepEqual(await index.deleteFiles(a, [orig.id]), []);
    });

    test("lists an owner's files oldest first", async () => {
      const a = app();
      const f1 = file({ owner: 'bob' });
      const f2 = file({ owner: 'bob' });
      await index.addFile(a, f2);
      await index.addFile(a, f1);
      await index.addFile(a, file({ owner: 'carol' }));
      await index.addFile(a, file({ owner: null }));
      assert.deepEqual((await index.filesOf(a, 'bob')).map((f) => f.id), [f1.id, f2.id]);
      assert.deepEqual(await index.filesOf(a, 'nobody'), []);
    });
  });
}
