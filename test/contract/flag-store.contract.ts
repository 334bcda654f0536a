import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FlagRecord, FlagStore } from '../../src/ports/flag-store.js';

/** The contract every {@link FlagStore} adapter satisfies; `skip` names tests with their reason. */
export function flagStoreContract(name: string, make: () => Promise<{ flags: FlagStore; close(): Promise<void> }>, skip: Record<string, string> = {}): void {
  describe(`flag store contract: ${name}`, () => {
    let flags: FlagStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ flags, close } = await make());
    });
    after(async () => close());
    const test = (title: string, fn: () => Promise<void>) => it(title, skip[title] ? { skip: skip[title] } : {}, fn);
    const app = () => `app-${randomUUID().slice(0, 8)}`;
    let t = 1;
    const flag = (extra: Partial<FlagRecord> = {}): FlagRecord => ({
      id: randomUUID(),
      entityType: 'stream:user',
      entityId: 'bob',
      targetUserId: 'bob',
      flaggedBy: 'alice',
      reason: 'spam',
      createdUs: t++,
      ...extra,
    });

    test('lists flags newest first, filtered by entity, paging with before', async () => {
      const a = app();
      const f1 = flag();
      const f2 = flag({ entityType: 'stream:feeds:v2:activity', entityId: 'act1', reason: null, flaggedBy: null });
      const f3 = flag();
      for (const f of [f1, f2, f3]) await flags.addFlag(a, f);
      assert.deepEqual(await flags.listFlags(a, { limit: 10 }), [f3, f2, f1]);
      assert.deepEqual(await flags.listFlags(a, { entityType: 'stream:user', entityId: 'bob', limit: 10 }), [f3, f1]);
      assert.deepEqual(await flags.listFlags(a, { limit: 1, before: f3.id }), [f2]);
      assert.deepEqual(await flags.listFlags(a, { entityType: 'stream:user', limit: 10, before: f3.id }), [f1]);
      assert.deepEqual(await flags.listFlags(app(), { limit: 10 }), [], 'apps are isolated');
    });

    test('tells which of many ids are flagged, in one call', async () => {
      const a = app();
      await flags.addFlag(a, flag({ entityId: 'bob' }));
      await flags.addFlag(a, flag({ entityId: 'bob' }));
      await flags.addFlag(a, flag({ entityType: 'stream:feeds:v2:reaction', entityId: 'carol' }));
      assert.deepEqual(await flags.flagged(a, 'stream:user', ['alice', 'bob', 'carol']), new Set(['bob']));
      assert.deepEqual(await flags.flagged(a, 'stream:feeds:v2:reaction', ['carol']), new Set(['carol']));
      assert.deepEqual(await flags.flagged(a, 'stream:user', []), new Set());
    });

    test('forgets every flag by or about a user', async () => {
      const a = app();
      const keep = flag({ entityId: 'dave', targetUserId: 'dave', flaggedBy: 'frank' });
      await flags.addFlag(a, flag({ entityId: 'zed', targetUserId: 'zed', flaggedBy: 'erin' }));
      await flags.addFlag(a, flag({ entityId: 'erin', targetUserId: 'erin', flaggedBy: 'dave' }));
      await flags.addFlag(a, flag({ entityType: 'stream:feeds:v2:activity', entityId: 'x', targetUserId: 'erin', flaggedBy: null }));
      await flags.addFlag(a, keep);
      await flags.forgetUser(a, 'erin');
      assert.deepEqual(await flags.listFlags(a, { limit: 10 }), [keep]);
    });
  });
}
