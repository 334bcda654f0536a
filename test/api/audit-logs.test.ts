/** Audit logs (stream-v2-api.md §18.2): who changed what, filtered and paged through the official client. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startServer, uid, TEST_GROUPS, type TestServer } from '../support/server.js';
import { expectApiError } from './activity-helpers.js';

describe('audit logs', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  const logs = (q: Record<string, unknown>) => t.client().auditLogs.filter(q as any) as Promise<any>;

  it('records an added activity under its id, as its actor, with the fields the official test reads', async () => {
    const actor = uid('audit');
    const added = await t.client().feed('user', actor).addActivity({ actor, verb: 'tweet', object: '1', foreign_id: `audit-${actor}` });
    const res = await logs({ entity_type: 'activity', entity_id: added.id, limit: 5 });
    assert.deepEqual(Object.keys(res).sort(), ['audit_logs', 'duration', 'next', 'prev']);
    assert.equal(res.audit_logs.length, 1);
    const log = res.audit_logs[0];
    assert.deepEqual(Object.keys(log).sort(), ['action', 'created_at', 'custom', 'entity_id', 'entity_type', 'id', 'user_id']);
    assert.equal(log.entity_type, 'activity');
    assert.equal(log.entity_id, added.id);
    assert.equal(log.action, 'created');
    assert.equal(log.user_id, actor);
    assert.equal(log.custom.verb, 'tweet');
    assert.match(log.created_at, /^\d{4}-\d\d-\d\dT.*Z$/);
    assert.equal(res.next, '');
  });

  it('names SU: actors by their user id and follows an activity through update, partial update and removal', async () => {
    const actor = uid('audit');
    const feed = t.client().feed('user', actor);
    const a = await feed.addActivity({ actor: `SU:${actor}`, verb: 'post', object: 'x', foreign_id: 'f1', time: '2024-01-01T00:00:00' });
    await t.client().updateActivities([{ ...a, actor: `SU:${actor}`, extra: 1 } as any]);
    await t.client().activityPartialUpdate({ id: a.id, set: { extra: 2 } });
    await feed.removeActivity(a.id);
    const res = await logs({ entity_type: 'activity', entity_id: a.id });
    assert.deepEqual(res.audit_logs.map((l: any) => l.action), ['deleted', 'updated', 'updated', 'created']);
    assert.ok(res.audit_logs.every((l: any) => l.user_id === actor));
  });

  it('filters by user across entity types: activities, reactions, follows, users, collections', async () => {
    const who = uid('audit');
    const server = t.client();
    await server.user(who).create({ name: 'x' });
    const a = await server.feed('user', who).addActivity({ actor: who, verb: 'post', object: 'o' });
    const r = await server.reactions.add('like', a.id, {}, { userId: who });
    await server.feed('timeline', who).follow('user', uid('someone'));
    await t.userClient(who).collections.add('food', null, { name: 'cake' });
    const res = await logs({ user_id: who, limit: 25 });
    assert.deepEqual(
      res.audit_logs.map((l: any) => `${l.entity_type}:${l.action}`),
      ['collection:created', 'follow:followed', 'reaction:created', 'activity:created', 'user:created'],
    );
    assert.ok(res.audit_logs.every((l: any) => l.user_id === who));
    const reaction = await logs({ entity_type: 'reaction', entity_id: r.id });
    assert.equal(reaction.audit_logs[0].custom.activity_id, a.id);
  });

  it('pages with limit and next (exactly one entry per page at limit=1), and back with prev', async () => {
    const who = uid('audit');
    const feed = t.client().feed('user', who);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await feed.addActivity({ actor: who, verb: 'v', object: String(i) })).id);
    const first = await logs({ user_id: who, limit: 1 });
    assert.equal(first.audit_logs.length, 1);
    assert.equal(first.audit_logs[0].entity_id, ids[2]);
    assert.notEqual(first.next, '');
    const second = await logs({ user_id: who, limit: 1, next: first.next });
    assert.equal(second.audit_logs.length, 1);
    assert.equal(second.audit_logs[0].entity_id, ids[1]);
    assert.notEqual(second.audit_logs[0].id, first.audit_logs[0].id);
    const third = await logs({ user_id: who, limit: 1, next: second.next });
    assert.equal(third.audit_logs[0].entity_id, ids[0]);
    assert.equal(third.next, '');
    const back = await logs({ user_id: who, limit: 1, prev: third.prev });
    assert.equal(back.audit_logs[0].entity_id, ids[1]);
    const all = await logs({ user_id: who, limit: 2, prev: third.prev });
    assert.deepEqual(all.audit_logs.map((l: any) => l.entity_id), [ids[2], ids[1]]);
    assert.equal(all.prev, '');
  });

  it('refuses bad filters and cursors with 400/4, and anything but a server token with 403', async () => {
    await expectApiError(logs({ entity_type: 'activity' }), 400, 4);
    await expectApiError(logs({ entity_type: 'nonsense', entity_id: 'x' }), 400, 4);
    await expectApiError(logs({ limit: 'many' }), 400, 4);
    await expectApiError(logs({ next: 'bogus' }), 400, 4);
    const user = await rawRequest(t, 'GET', 'audit_logs/', { token: t.userClient('u').getOrCreateToken() });
    assert.equal(user.status, 403);
    const feed = await rawRequest(t, 'GET', 'audit_logs/', { token: t.client().feed('user', 'x').token });
    assert.equal(feed.status, 403);
  });
});

describe('audit logs of the config', () => {
  it('records the config at first start and again only when it changed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rivulet-audit-'));
    const app = { appId: '5151', apiKey: 'auditkey1', apiSecret: 'a-secret-of-sixteen-characters' };
    try {
      const configLogs = async (s: TestServer) => ((await s.client().auditLogs.filter({ entity_type: 'config', entity_id: '5151' })) as any).audit_logs;
      let s = await startServer({ dataDir, app });
      const first = await configLogs(s);
      assert.deepEqual(first.map((l: any) => l.action), ['created']);
      await s.close();
      s = await startServer({ dataDir, app });
      assert.equal((await configLogs(s)).length, 1, 'an unchanged config is not recorded again');
      await s.close();
      s = await startServer({ dataDir, app, groups: [...TEST_GROUPS.filter((g) => g.name !== 'secret'), { name: 'extra', type: 'flat' }] });
      const after = await configLogs(s);
      await s.close();
      assert.deepEqual(after.map((l: any) => l.action), ['updated', 'created']);
      assert.deepEqual(after[0].custom.added_groups, ['extra']);
      assert.deepEqual(after[0].custom.removed_groups, ['secret']);
      assert.equal(after[0].custom.secret_changed, false);
      assert.ok(!JSON.stringify(after).includes(app.apiSecret), 'the secret itself is never recorded');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
