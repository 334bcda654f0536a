import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { idAt } from '../../../test/contract/ports-support.js';
import { SqliteStore } from './sqlite-store.js';

// Writes a durable intent covers (cursors, completions, covered feed operations) commit without
// waiting for fsync (synchronous = NORMAL); every other commit waits for it (FULL), also when it
// shares a group commit with relaxed writes, and the connection is back to FULL afterwards.

const dir = mkdtempSync(join(tmpdir(), 'rivulet-relaxed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore(join(dir, `db${++n}.sqlite`), { writer: 'inline' });
});
afterEach(() => store.close());

const FULL = 2;
const NORMAL = 1;

describe('SQLite relaxed commits', () => {
  it('commits relaxed writes alone without fsync, mixed groups and other writes with it, and returns to FULL', async () => {
    const db = store.database.db;
    const seen: number[] = [];
    const probe = store.writes.define('test.probe', () => seen.push(db.pragma('synchronous', { simple: true }) as number));
    await probe([], 1, false, true);
    assert.deepEqual(seen, [NORMAL]);
    assert.equal(db.pragma('synchronous', { simple: true }), FULL);
    // A relaxed write sharing its group commit with another write: the group waits for fsync.
    await Promise.all([probe([], 1, false, true), probe([], 1, false, false)]);
    assert.deepEqual(seen, [NORMAL, FULL, FULL]);
    await probe([]);
    assert.deepEqual(seen, [NORMAL, FULL, FULL, FULL]);
    assert.equal(db.pragma('synchronous', { simple: true }), FULL);
  });

  it('applies covered feed operations and intent bookkeeping relaxed, with the same results', async () => {
    const p = store.ports;
    const changes = await p.timelines.apply('app', [{ kind: 'add', feed: 'timeline:a', entries: [{ id: idAt(1), origin: 'user:b' }], maxLength: 10 }], { covered: true });
    assert.deepEqual(changes, [{ feed: 'timeline:a', added: [{ id: idAt(1), origin: 'user:b' }], removed: [] }]);
    const [step] = await p.intents.commit('app', [{ intents: [{ kind: 'fanout.add', source: 'user:b', ids: [idAt(1)], mode: 'queued' }] }]);
    await p.intents.progress([{ id: step.intents[0].id, cursor: '5' }]);
    await p.intents.complete([step.intents[0].id]);
    assert.equal(await p.intents.pendingCount(), 0);
    assert.deepEqual((await p.timelines.scan('app', { feed: 'timeline:a', limit: 5 })).map((e) => e.id), [idAt(1)]);
    assert.equal(store.database.db.pragma('synchronous', { simple: true }), FULL);
  });

  it('commits a hand-over of intents an inline intent covers relaxed, and any other step with fsync', async () => {
    const w = store.writes;
    const run = w.transactOp.bind(w);
    const relaxed: boolean[] = [];
    w.transactOp = (name, args, rows, graph, r) => {
      if (name === 'intents.commit') relaxed.push(r === true);
      return run(name, args, rows, graph, r);
    };
    const intents = [{ kind: 'fanout.add' as const, source: 'user:b', ids: [idAt(2)], mode: 'queued' as const }];
    await store.ports.intents.commit('app', [{ intents }]);
    await store.ports.intents.commit('app', [{ intents }], { covered: true });
    assert.deepEqual(relaxed, [false, true]);
    assert.equal(await store.ports.intents.pendingCount(), 2, 'both steps are stored');
  });
});
