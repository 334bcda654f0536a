import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { blobStoreContract } from '../../../test/contract/blob-store.contract.js';
import { LocalBlobStore } from './local-blob-store.js';

const root = mkdtempSync(join(tmpdir(), 'rivulet-blobs-'));
after(() => rmSync(root, { recursive: true, force: true }));

blobStoreContract('local disk', async () => new LocalBlobStore(root));

it('leaves no temporary files behind a put', async () => {
  const store = new LocalBlobStore(join(root, 'tmpcheck'));
  await store.put('a/b', Buffer.from('x'));
  await store.put('a/b', Buffer.from('y'));
  assert.deepEqual(readdirSync(join(root, 'tmpcheck', 'a')), ['b']);
});
