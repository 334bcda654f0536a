import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { activityId } from '../core/activities/activity-id.js';
import { UsageError } from './apps.js';
import { exportCommand, importCommand, transferStores } from './export-import.js';
import { checkFile, FORMAT, FORMAT_VERSION, ImportFileError, importApp, walkApp, type Counts, type Line } from './transfer.js';

const APP = 'a1';

/** A SQLite store in memory with activities, follow edges, users and feed entries of APP. */
async function source(): Promise<SqliteStore> {
  const store = new SqliteStore(':memory:');
  const p = store.ports;
  const acts = Array.from({ length: 1200 }, (_, i) => {
    const t = 1_700_000_000_000_000 + i * 1000;
    const id = activityId(t, `t${i}`);
    return { id, timeUs: t, foreignId: '', to: [], body: JSON.stringify({ id, actor: `SU:u${i % 7}`, verb: 'post', object: `o${i}` }), home: `user:u${i % 7}` };
  });
  await p.intents.commit(APP, acts.map((activity) => ({ activity })));
  await p.intents.commit(APP, Array.from({ length: 30 }, (_, i) => ({ follow: { source: `timeline:r${i}`, target: `user:u${i % 7}`, createdUs: i, grouped: false, since: null } })));
  await p.users.putUsers(APP, Array.from({ length: 700 }, (_, i) => ({ id: `u${i}`, data: '{}', createdUs: 1, updatedUs: 1 })), 'replace');
  await p.timelines.apply(APP, Array.from({ length: 7 }, (_, u) => ({ kind: 'add' as const, feed: `user:u${u}`, entries: acts.filter((_, i) => i % 7 === u).map((a) => ({ id: a.id, origin: null })), maxLength: 10_000 })));
  return store;
}

/** The file an export of `store` writes, as lines. */
async function exported(store: SqliteStore): Promise<string[]> {
  const lines: string[] = [JSON.stringify({ kind: 'header', format: FORMAT, version: FORMAT_VERSION, app: APP, source: 'sqlite', createdAt: '' })];
  const counts = await walkApp(transferStores(store), APP, (l: Line) => void lines.push(JSON.stringify(l)));
  lines.push(JSON.stringify({ kind: 'trailer', counts }));
  return lines;
}

async function* iterate(lines: readonly string[]): AsyncGenerator<string> {
  yield* lines;
}

describe('export and import (transfer)', () => {
  it('an import stopped right after a checkpoint and resumed from it ends with every record; so does a second run', async () => {
    const from = await source();
    const lines = await exported(from);
    const want: Counts = (await checkFile(iterate(lines))).counts;
    assert.equal(want.activity, 1200);
    const to = new SqliteStore(':memory:');
    const s = transferStores(to);
    let checkpoint = 0;
    let batches = 0;
    // Stops after the third batch, as a crash right after writing the checkpoint would.
    await assert.rejects(
      importApp(s, APP, iterate(lines), {
        eventRetentionUs: 1,
        onBatch: (line) => {
          checkpoint = line;
          if (++batches === 3) throw new Error('stopped');
        },
      }),
      /stopped/,
    );
    assert.ok(checkpoint > 1 && checkpoint < lines.length - 1, `checkpoint ${checkpoint}`);
    assert.notDeepEqual(await walkApp(s, APP, () => undefined), want);
    await importApp(s, APP, iterate(lines), { eventRetentionUs: 1, skipLines: checkpoint });
    assert.deepEqual(await walkApp(s, APP, () => undefined), want);
    await importApp(s, APP, iterate(lines), { eventRetentionUs: 1 });
    assert.deepEqual(await walkApp(s, APP, () => undefined), want);
    await Promise.all([from.close(), to.close()]);
  });

  it('the file check names the line of a bad record, a missing trailer, and counts that do not add up', async () => {
    const from = await source();
    const lines = await exported(from);
    await from.close();
    const fails = async (list: string[], re: RegExp) => assert.rejects(checkFile(iterate(list)), (err: Error) => err instanceof ImportFileError && re.test(err.message));
    await fails(lines.slice(0, -1), /ends at line \d+ without its trailer line/);
    await fails([...lines.slice(0, 5), lines[6], ...lines.slice(7)], /do not add up to the trailer's counts \(activity: 1199 in the file, 1200 in the trailer\)/);
    await fails([lines[0], '{"kind":"timeline","feed":"user:x","entries":[["nope",null]]}', ...lines.slice(1)], /^line 2: entries: "nope" is not an activity id$/);
    await fails([lines[0], 'not json', ...lines.slice(1)], /^line 2: not valid JSON/);
    await fails([lines[0], '{"kind":"rocket"}', ...lines.slice(1)], /^line 2: unknown kind "rocket"$/);
    await fails(lines.slice(1), /^line 1: the file must start with a "header" line/);
    await fails([lines[0].replace('"version":1', '"version":9'), ...lines.slice(1)], /^line 1: a "header" line needs "version": 1 \(this file has 9\)$/);
  });

  it('export refuses while fan-out jobs are pending, unless --allow-pending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-export-'));
    try {
      const config = join(dir, 'config.json');
      writeFileSync(config, JSON.stringify({ apps: [{ app_id: APP, api_key: 'exportkey', api_secret: 'secret-of-sixteen-chars', feed_groups: [{ name: 'user', type: 'flat' }] }] }));
      const store = new SqliteStore(join(dir, 'rivulet.db'));
      const id = activityId(1_700_000_000_000_000, 'p');
      const activity = { id, timeUs: 1_700_000_000_000_000, foreignId: '', to: [], body: JSON.stringify({ id, actor: 'a', verb: 'post', object: 'o' }), home: 'user:a' };
      await store.ports.intents.commit(APP, [{ activity, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [id], mode: 'queued' }] }]);
      await store.close();
      const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
      const out = join(dir, 'out.jsonl');
      await assert.rejects(exportCommand({ data: dir, config, out, stream: quiet }), (err: Error) => err instanceof UsageError && /1 fan-out job is still pending/.test(err.message));
      assert.equal(existsSync(out), false);
      const counts = await exportCommand({ data: dir, config, out, allowPending: true, stream: quiet });
      assert.equal(counts.activity, 1);
      assert.equal(counts.job, 1);
      assert.equal(existsSync(out), true);
      assert.equal(existsSync(`${out}.partial`), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pending and dead-lettered fan-out jobs of the app go into the file; import queues them again and keeps the dead letters with their error, once however often it runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-export-jobs-'));
    try {
      const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
      const conf = (name: string) => {
        const file = join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify({ apps: [{ app_id: APP, api_key: 'exportkey', api_secret: 'secret-of-sixteen-chars', feed_groups: [{ name: 'user', type: 'flat' }] }, { app_id: 'other', api_key: 'otherkey', api_secret: 'secret-of-sixteen-chars', feed_groups: [{ name: 'user', type: 'flat' }] }], storage: { backend: 'sqlite', path: join(dir, `${name}.db`) } }));
        return file;
      };
      const from = conf('from');
      const store = new SqliteStore(join(dir, 'from.db'));
      const q = store.ports.intents;
      const ids = [1, 2, 3].map((i) => activityId(1_700_000_000_000_000 + i, `j${i}`));
      const act = (id: string, home: string) => ({ id, timeUs: 1_700_000_000_000_000, foreignId: '', to: [], body: JSON.stringify({ id, actor: 'a', verb: 'post', object: 'o' }), home });
      await q.commit(APP, [{ activity: act(ids[0], 'user:a'), intents: [{ kind: 'fanout.add', source: 'user:a', ids: [ids[0]], mode: 'queued' }] }]);
      await q.commit(APP, [{ activity: act(ids[1], 'user:b'), intents: [{ kind: 'fanout.remove', source: 'user:b', ids: [ids[1]], mode: 'inline' }] }]);
      const [dead] = await q.commit(APP, [{ activity: act(ids[2], 'user:c'), intents: [{ kind: 'fanout.add', source: 'user:c', ids: [ids[2]], mode: 'queued' }] }]);
      await q.failed(dead.intents[0].id, 'the follower page failed', null, 1_700_000_000_123);
      // Another app's job stays out of this app's file.
      await q.commit('other', [{ intents: [{ kind: 'fanout.add', source: 'user:z', ids: [ids[0]], mode: 'queued' }] }]);
      await store.close();
      const out = join(dir, 'out.jsonl');
      const counts = await exportCommand({ data: dir, config: from, app: APP, out, allowPending: true, stream: quiet });
      assert.equal(counts.job, 2);
      assert.equal(counts.dead, 1);
      const to = conf('to');
      for (let run = 0; run < 2; run++) assert.deepEqual(await importCommand(out, { data: dir, config: to, app: APP, stream: quiet }), counts);
      const target = new SqliteStore(join(dir, 'to.db'));
      try {
        const pending = (await target.ports.intents.pending(10)).map((j) => ({ app: j.app, kind: j.kind, source: j.source, ids: j.ids, mode: j.mode, cursor: j.cursor }));
        assert.deepEqual(pending.sort((x, y) => x.source.localeCompare(y.source)), [
          { app: APP, kind: 'fanout.add', source: 'user:a', ids: [ids[0]], mode: 'queued', cursor: null },
          { app: APP, kind: 'fanout.remove', source: 'user:b', ids: [ids[1]], mode: 'queued', cursor: null },
        ]);
        const letters = await target.ports.intents.deadLetters(10);
        assert.deepEqual(
          letters.map((d) => ({ app: d.app, kind: d.kind, source: d.source, ids: d.ids, error: d.error, failedAt: d.failedAt })),
          [{ app: APP, kind: 'fanout.add', source: 'user:c', ids: [ids[2]], error: 'the follower page failed', failedAt: 1_700_000_000_123 }],
        );
      } finally {
        await target.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('import refuses a file whose feed groups the target app lacks or has with another type, before writing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-import-groups-'));
    try {
      const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
      const conf = (name: string, groups: object[]) => {
        const file = join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify({ apps: [{ app_id: APP, api_key: 'exportkey', api_secret: 'secret-of-sixteen-chars', feed_groups: groups }], storage: { backend: 'sqlite', path: join(dir, `${name}.db`) } }));
        return file;
      };
      const from = conf('from', [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }, { name: 'notify', type: 'notification' }]);
      const store = new SqliteStore(join(dir, 'from.db'));
      const id = activityId(1_700_000_000_000_000, 'g');
      await store.ports.intents.commit(APP, [{ activity: { id, timeUs: 1_700_000_000_000_000, foreignId: '', to: [], body: JSON.stringify({ id, actor: 'a', verb: 'post', object: 'o' }), home: 'user:a' } }]);
      await store.ports.intents.commit(APP, [{ follow: { source: 'timeline:b', target: 'user:a', createdUs: 1, grouped: false, since: null } }]);
      await store.ports.timelines.apply(APP, [{ kind: 'add', feed: 'user:a', entries: [{ id, origin: null }], maxLength: 10 }]);
      await store.close();
      const out = join(dir, 'out.jsonl');
      await exportCommand({ data: dir, config: from, out, stream: quiet });
      // No timeline group in the target: the follow names timeline:b.
      const lacking = conf('lacking', [{ name: 'user', type: 'flat' }, { name: 'notify', type: 'notification' }]);
      await assert.rejects(importCommand(out, { data: dir, config: lacking, stream: quiet }), (err: Error) => err instanceof UsageError && /feeds of group "timeline", which the target app does not have/.test(err.message));
      // The notify group is aggregated there, a notification group in the file.
      const retyped = conf('retyped', [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }, { name: 'notify', type: 'aggregated' }]);
      await assert.rejects(importCommand(out, { data: dir, config: retyped, stream: quiet }), (err: Error) => err instanceof UsageError && /feed group "notify" is notification in the file and aggregated in the target app/.test(err.message));
      for (const name of ['lacking', 'retyped']) {
        const target = new SqliteStore(join(dir, `${name}.db`));
        assert.equal((await walkApp(transferStores(target), APP, () => undefined)).activity, 0, `nothing was written into ${name}`);
        await target.close();
      }
      const same = conf('same', [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }, { name: 'notify', type: 'notification' }]);
      const counts = await importCommand(out, { data: dir, config: same, stream: quiet });
      assert.equal(counts.activity, 1);
      assert.equal(counts.follow, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
