import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { connect } from 'getstream';
import { idToSortKey } from '../../src/core/activities/activity-id.js';
import { freePort, kill9, spawnRivulet } from '../support/process.js';

const FOLLOWERS = 100_000;

/**
 * kill -9 in the middle of a 100,000-follower fan-out and during a burst of writes: after a
 * restart every follower has the activity exactly once and every acknowledged write is there.
 */
describe('crash and restart', () => {
  let dir: string;
  let configFile: string;
  const appId = '4242';
  const apiKey = 'crashkey';
  const apiSecret = randomBytes(24).toString('base64url');

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rivulet-crash-'));
    configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        apps: [
          {
            app_id: appId,
            api_key: apiKey,
            api_secret: apiSecret,
            feed_groups: [
              { name: 'user', type: 'flat' },
              { name: 'timeline', type: 'flat' },
            ],
          },
        ],
        // Push everything (no pull serving) so the fan-out itself is what gets interrupted.
        fanout: { inline_max_followers: 1000, chunk_size: 200, pull_min_followers: 1_000_000 },
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finishes an interrupted fan-out exactly once and loses no acknowledged write', { timeout: 240_000 }, async () => {
    const port = await freePort();
    const args = ['serve', '--data', dir, '--config', configFile];
    let child = await spawnRivulet(args, port);
    const client = connect(apiKey, apiSecret, appId, { urlOverride: { api: `http://127.0.0.1:${port}/api/` } });

    for (let i = 0; i < FOLLOWERS; i += 2500) {
      const batch = [];
      for (let j = i; j < i + 2500; j++) batch.push({ source: `timeline:f${j}`, target: 'user:celeb' });
      await client.followMany!(batch, 0);
    }

    const db = new Database(join(dir, 'rivulet.db'), { readonly: true, fileMustExist: true });
    // Flat entries are in the main table or, until merged, in the recent one.
    const countOf = db.prepare('SELECT (SELECT count(*) FROM entries WHERE sk = @sk) + (SELECT count(*) FROM recent_entries WHERE sk = @sk)').pluck();

    const post = await client.feed('user', 'celeb').addActivity({ actor: 'SU:celeb', verb: 'post', object: 'big:1' });
    const sk = idToSortKey(post.id);

    // A burst of writes racing the kill: only acknowledged ones must survive.
    const acknowledged: string[] = [];
    let stop = false;
    const writer = (async () => {
      let n = 0;
      while (!stop) {
        try {
          const a = await client.feed('user', 'writer').addActivity({ actor: 'SU:writer', verb: 'post', object: `w:${n++}` });
          acknowledged.push(a.id);
        } catch {
          return; // the server died mid-request: that write was never acknowledged
        }
      }
    })();

    // Wait until the fan-out has visibly started, then kill the process in the middle of it.
    let atKill = 0;
    for (let i = 0; i < 2000; i++) {
      atKill = countOf.get({ sk }) as number;
      if (atKill > 1 && acknowledged.length >= 3) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    await kill9(child);
    stop = true;
    await writer;
    atKill = countOf.get({ sk }) as number;
    assert.ok(atKill > 1, 'fan-out had started before the kill');
    assert.ok(atKill < FOLLOWERS + 1, `fan-out was still in progress at the kill (${atKill} entries)`);
    assert.ok(acknowledged.length > 0, 'some writes were acknowledged before the kill');

    child = await spawnRivulet(args, port);
    try {
      const pending = db.prepare('SELECT count(*) FROM outbox').pluck();
      for (let i = 0; i < 2400 && (pending.get() as number) > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(pending.get(), 0, 'the outbox drained after restart');
      assert.equal(countOf.get({ sk }), FOLLOWERS + 1, 'the origin feed and every follower hold the activity once');

      for (const f of ['f0', 'f777', `f${FOLLOWERS - 1}`]) {
        const res = await client.feed('timeline', f).get({ limit: 100 });
        assert.deepEqual(
          res.results.map((a) => a.id),
          [post.id],
          `timeline:${f} holds the activity exactly once`,
        );
        assert.equal((res.results[0] as { origin?: string }).origin, 'user:celeb');
      }

      for (let i = 0; i < acknowledged.length; i += 100) {
        const ids = acknowledged.slice(i, i + 100);
        const res = await client.getActivities({ ids });
        assert.equal(res.results.length, ids.length, 'every acknowledged write survived');
      }
      const writerFeed = await client.feed('user', 'writer').get({ limit: 100 });
      const inFeed = new Set(writerFeed.results.map((a) => a.id));
      for (const id of acknowledged.slice(-Math.min(100, acknowledged.length))) assert.ok(inFeed.has(id));
    } finally {
      db.close();
      await kill9(child);
    }
  });
});
