import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditChange, AuditLog } from '../../src/ports/audit-log.js';

/** The contract every {@link AuditLog} adapter satisfies; `skip` names tests with their reason. */
export function auditLogContract(name: string, make: () => Promise<{ audit: AuditLog; close(): Promise<void> }>, skip: Record<string, string> = {}): void {
  describe(`audit log contract: ${name}`, () => {
    let audit: AuditLog;
    let close: () => Promise<void>;
    before(async () => {
      ({ audit, close } = await make());
    });
    after(async () => close());
    const test = (title: string, fn: () => Promise<void>) => it(title, skip[title] ? { skip: skip[title] } : {}, fn);
    const app = () => `app-${randomUUID().slice(0, 8)}`;
    const ch = (entityId: string, action: string, userId = 'u', custom = '{}'): AuditChange => ({ entityType: 'activity', entityId, action, userId, custom });

    test('appends in order and lists newest first with growing ids', async () => {
      const a = app();
      await audit.append(a, [ch('x', 'created', 'alice', '{"n":1}'), ch('x', 'updated')], 1000);
      await audit.append(a, [ch('y', 'created')], 2000);
      const all = await audit.list(a, { limit: 10 });
      assert.deepEqual(all.map((e) => `${e.entityId}:${e.action}`), ['y:created', 'x:updated', 'x:created']);
      assert.ok(Number(all[0].id) > Number(all[1].id) && Number(all[1].id) > Number(all[2].id));
      assert.deepEqual({ ...all[2], id: '' }, { id: '', entityType: 'activity', entityId: 'x', action: 'created', userId: 'alice', custom: '{"n":1}', createdUs: 1000 });
      assert.deepEqual(await audit.list(app(), { limit: 10 }), [], 'apps are isolated');
    });

    test('filters by entity and by user, and pages both ways', async () => {
      const a = app();
      for (let i = 0; i < 5; i++) await audit.append(a, [ch('e', `a${i}`, i % 2 ? 'odd' : 'even'), { ...ch('e', 'other'), entityType: 'reaction' }], i);
      const entity = await audit.list(a, { entityType: 'activity', entityId: 'e', limit: 10 });
      assert.deepEqual(entity.map((e) => e.action), ['a4', 'a3', 'a2', 'a1', 'a0']);
      assert.deepEqual((await audit.list(a, { userId: 'odd', limit: 10 })).map((e) => e.action), ['a3', 'a1']);
      const older = await audit.list(a, { entityType: 'activity', entityId: 'e', before: entity[1].id, limit: 2 });
      assert.deepEqual(older.map((e) => e.action), ['a2', 'a1']);
      const newer = await audit.list(a, { entityType: 'activity', entityId: 'e', after: entity[3].id, limit: 2 });
      assert.deepEqual(newer.map((e) => e.action), ['a3', 'a2'], 'the entries just newer than the bound, newest first');
    });

    test('appends made together all land, and latest finds the newest of an entity', async () => {
      const a = app();
      await Promise.all(Array.from({ length: 20 }, (_, i) => audit.append(a, [{ ...ch(a, `c${i}`), entityType: 'config' }], i)));
      assert.equal((await audit.list(a, { limit: 100 })).length, 20);
      assert.equal((await audit.latest(a, 'config', a))?.action, 'c19');
      assert.equal(await audit.latest(a, 'config', 'nothing'), null);
      await audit.append(a, [], 1);
    });
  });
}
