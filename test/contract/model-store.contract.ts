import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ModelStore } from '../../src/ports/model-store.js';

/** The contract every {@link ModelStore} adapter satisfies; `skip` names tests with their reason. */
export function modelStoreContract(name: string, make: () => Promise<{ models: ModelStore; close(): Promise<void> }>, skip: Record<string, string> = {}): void {
  describe(`model store contract: ${name}`, () => {
    let models: ModelStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ models, close } = await make());
    });
    after(async () => close());
    const test = (title: string, fn: () => Promise<void>) => it(title, skip[title] ? { skip: skip[title] } : {}, fn);
    const app = () => `app-${randomUUID().slice(0, 8)}`;
    const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

    test('an app without snapshots has none', async () => {
      const a = app();
      assert.equal(await models.latestSnapshot(a), null);
      assert.equal(await models.latestVersion(a), null);
    });

    test('saves snapshots with increasing versions and returns the newest, bytes intact', async () => {
      const a = app();
      const v1 = await models.saveSnapshot(a, { seq: 10, updates: 100, createdUs: 1, model: bytes(64, 1), state: bytes(8, 2) }, 3);
      const v2 = await models.saveSnapshot(a, { seq: 20, updates: 250.5, createdUs: 2, model: bytes(1 << 16, 3), state: Buffer.from('{"x":1}') }, 3);
      assert.ok(v2 > v1);
      assert.equal(await models.latestVersion(a), v2);
      const s = await models.latestSnapshot(a);
      assert.ok(s !== null);
      assert.equal(s.version, v2);
      assert.equal(s.seq, 20);
      assert.equal(s.updates, 250.5);
      assert.equal(s.createdUs, 2);
      assert.deepEqual(Buffer.from(s.model), Buffer.from(bytes(1 << 16, 3)));
      assert.equal(Buffer.from(s.state).toString(), '{"x":1}');
      assert.equal(await models.latestSnapshot(app()), null, 'apps are isolated');
    });

    test('keeps the newest snapshots only, and versions keep increasing after trimming', async () => {
      const a = app();
      let last = 0;
      for (let i = 1; i <= 5; i++) {
        const v = await models.saveSnapshot(a, { seq: i, updates: i, createdUs: i, model: bytes(4, i), state: bytes(1, i) }, 2);
        assert.ok(v > last);
        last = v;
      }
      assert.equal((await models.latestSnapshot(a))?.seq, 5);
      assert.equal(await models.latestVersion(a), last);
    });
  });
}
