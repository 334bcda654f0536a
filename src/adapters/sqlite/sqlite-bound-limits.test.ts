import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from './sqlite-store.js';

// SQLite (3.48 on) reads a bare parameter bound as a LIMIT (`LIMIT ?`, `LIMIT @limit`) while
// planning and marks the statement to be planned again whenever that parameter is bound, which the
// driver does on every run: each run of such a statement re-parses and re-plans it (measured: a
// timeline scan 2.5 times slower). `LIMIT +?` is the same limit without the re-planning.
test('no statement of the SQLite store binds its LIMIT as a bare parameter', async () => {
  const seen: string[] = [];
  const proto = Database.prototype as unknown as { prepare(this: Database.Database, sql: string): Database.Statement };
  const prepare = proto.prepare;
  proto.prepare = function (sql: string) {
    seen.push(sql);
    return prepare.call(this, sql);
  };
  let store: SqliteStore | undefined;
  try {
    store = new SqliteStore(':memory:');
    const p = store.ports;
    // Statements built on first use: every shape of timeline scan and reaction page asked once.
    const id = '00000000-0000-1000-8000-000000000000';
    for (const bodies of [false, true]) {
      for (const directOnly of [false, true]) {
        await p.timelines.scan('app', { feed: 'user:a', limit: 10, offset: 0, bodies, directOnly });
        await p.timelines.scanMany('app', [{ feed: 'user:a', idLt: id, idLte: id, idGt: id, idGte: id, limit: 10, bodies, directOnly }]);
      }
    }
    for (const by of ['activity_id', 'user_id', 'reaction_id'] as const) {
      await p.reactions.listReactions('app', { lookup: { by, value: 'x' }, kind: 'like', limit: 10 });
      await p.reactions.listReactions('app', { lookup: { by, value: 'x' }, gt: { createdUs: 1, id: 'a' }, limit: 10 });
    }
    await p.groups.readGroups('app', 'notification:a', { limit: 10, offset: 0, perGroup: 5 });
  } finally {
    proto.prepare = prepare;
    store?.close();
  }
  assert.ok(seen.length > 50, `statements seen: ${seen.length}`);
  const bare = seen.filter((sql) => /\bLIMIT\s+[?@:$]/i.test(sql));
  assert.deepEqual(bare, []);
});
