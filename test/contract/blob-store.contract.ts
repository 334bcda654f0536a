import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import type { BlobStore } from '../../src/ports/blob-store.js';

/**
 * The contract every {@link BlobStore} adapter satisfies, run unchanged against each one. `skip`
 * names tests an adapter cannot run, each with its reason.
 */
export function blobStoreContract(name: string, makeStore: () => Promise<BlobStore>, skip: Record<string, string> = {}): void {
  describe(`blob store contract: ${name}`, () => {
    let store: BlobStore;
    before(async () => {
      store = await makeStore();
    });
    after(async () => store.close());

    const test = (title: string, fn: () => Promise<void>) => it(title, skip[title] ? { skip: skip[title] } : {}, fn);
    const key = () => `app${randomBytes(3).toString('hex')}/${randomBytes(8).toString('base64url')}`;

    test('returns the exact bytes that were put, with their size', async () => {
      const k = key();
      const bytes = randomBytes(300_000);
      await store.put(k, bytes);
      const blob = await store.open(k);
      assert.ok(blob);
      assert.equal(blob.size, bytes.length);
      assert.ok((await buffer(blob.stream())).equals(bytes));
    });

    test('an empty object is stored and read back empty', async () => {
      const k = key();
      await store.put(k, Buffer.alloc(0));
      const blob = await store.open(k);
      assert.ok(blob);
      assert.equal(blob.size, 0);
      assert.equal((await buffer(blob.stream())).length, 0);
    });

    test('a missing key opens as null', async () => {
      assert.equal(await store.open(key()), null);
    });

    test('put replaces the object under a key', async () => {
      const k = key();
      await store.put(k, Buffer.from('first'));
      await store.put(k, Buffer.from('second, longer'));
      assert.equal(await text((await store.open(k))!.stream()), 'second, longer');
    });

    test('deletes objects; missing keys are no error and other keys stay', async () => {
      const [a, b, c] = [key(), key(), key()];
      await store.put(a, Buffer.from('a'));
      await store.put(b, Buffer.from('b'));
      await store.delete([a, c]);
      assert.equal(await store.open(a), null);
      assert.equal(await text((await store.open(b))!.stream()), 'b');
      await store.delete([a]);
      await store.delete([]);
    });

    test('refuses keys that could leave its namespace', async () => {
      for (const bad of ['../x', 'a/../../etc/passwd', '/abs', 'a//b', 'a/./b', 'a\\b', 'a b', '', 'a/']) {
        await assert.rejects(store.put(bad, Buffer.from('x')), /invalid blob key/, bad);
        await assert.rejects(store.open(bad), /invalid blob key/, bad);
      }
    });
  });
}
