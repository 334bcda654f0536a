/**
 * `npm run bench -- sweep`: the deletion of activities no feed holds any more.
 *
 * - `fanout_entry_index`: what the index that answers "does any feed hold this activity"
 *   (`entries_sk`) costs fan-out writes. Two stores on temp files in this run, one with the index
 *   and one without; each gets the same writes through `commit`: `--activities` (default 300)
 *   activities, each written into `--feeds` (default 2,000) follower feeds of `max_length` 200 in
 *   one batch, so most of the run trims as it inserts. The stores take turns in rounds of 50
 *   activities (A B B A …) so drift on a shared machine hits both. `ratio` = with ÷ without.
 * - `sweep`: one whole pass of the sweep (retention 0) over the indexed store afterwards:
 *   activities looked at and deleted per second, and per 500-activity step (ms).
 * - `trimmed_feed`: 40,000 writes into one feed of `max_length` 50: activity rows before and
 *   after one pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activityId } from '../src/core/activities/activity-id.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import type { FeedOp } from '../src/ports/timeline-store.js';
import { SWEEP_STEP } from '../src/workers/activity-sweeper.js';
import { option } from './harness.js';
import { writeResult } from './report.js';

const APP = 'bench';

function activity(i: number, home: string) {
  const t = 1_700_000_000_000_000 + i * 1000;
  const id = activityId(t, `b${i}`);
  return { id, timeUs: t, foreignId: '', to: [], body: JSON.stringify({ id, actor: 'SU:a', verb: 'post', object: `o:${i}` }), home };
}

async function pass(store: SqliteStore): Promise<{ examined: number; deleted: number; steps: number; ms: number }> {
  let after: string | null = null;
  let examined = 0;
  let deleted = 0;
  let steps = 0;
  const t0 = performance.now();
  do {
    const s = await store.sweepActivities(APP, after, SWEEP_STEP, Date.now(), 0);
    examined += s.examined;
    deleted += s.deleted;
    after = s.next;
    steps++;
  } while (after !== null);
  return { examined, deleted, steps, ms: performance.now() - t0 };
}

export async function sweep(): Promise<void> {
  const activities = Number(option('activities') ?? 300);
  const feeds = Number(option('feeds') ?? 2000);
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-sweep-'));
  try {
    const withIndex = new SqliteStore(join(dir, 'with.db'));
    const without = new SqliteStore(join(dir, 'without.db'));
    without.database.db.exec('DROP INDEX entries_sk');
    const followers = Array.from({ length: feeds }, (_, i) => `timeline:f${i}`);
    const ms = { with: 0, without: 0 };
    const write = async (store: SqliteStore, from: number, to: number) => {
      const t0 = performance.now();
      for (let i = from; i < to; i++) {
        const a = activity(i, 'user:author');
        const ops: FeedOp[] = [{ kind: 'add', feed: a.home, entries: [{ id: a.id, origin: null }], maxLength: 200 }];
        for (const f of followers) ops.push({ kind: 'add', feed: f, entries: [{ id: a.id, origin: a.home }], maxLength: 200 });
        await store.ports.intents.commit(APP, [{ activity: a }]);
        await store.ports.timelines.apply(APP, ops);
      }
      return performance.now() - t0;
    };
    const ROUND = 50;
    for (let r = 0, from = 0; from < activities; r++, from += ROUND) {
      const to = Math.min(activities, from + ROUND);
      const order: ['with' | 'without', SqliteStore][] = r % 2 === 0 ? [['with', withIndex], ['without', without]] : [['without', without], ['with', withIndex]];
      for (const [name, store] of order) ms[name] += await write(store, from, to);
    }
    const inserts = activities * (feeds + 1);
    const rate = (m: number) => Math.round(inserts / (m / 1000));
    const fanout_entry_index = {
      activities,
      follower_feeds: feeds,
      entry_inserts: inserts,
      with_index_inserts_per_s: rate(ms.with),
      without_index_inserts_per_s: rate(ms.without),
      ratio: Math.round((ms.without / ms.with) * 100) / 100,
    };
    const p = await pass(withIndex);
    const sweepFigures = {
      ...p,
      ms: Math.round(p.ms),
      examined_per_s: Math.round(p.examined / (p.ms / 1000)),
      ms_per_step: Math.round((p.ms / p.steps) * 100) / 100,
    };
    await withIndex.close();
    await without.close();

    const trimmedStore = new SqliteStore(join(dir, 'trimmed.db'));
    const count = () => trimmedStore.database.db.prepare('SELECT count(*) FROM activities').pluck().get() as number;
    for (let from = 0; from < 40_000; from += 1000) {
      const batch = Array.from({ length: 1000 }, (_, k) => activity(1_000_000 + from + k, 'user:busy'));
      await Promise.all(
        batch.map(async (a) => {
          await trimmedStore.ports.intents.commit(APP, [{ activity: a }]);
          await trimmedStore.ports.timelines.apply(APP, [{ kind: 'add', feed: a.home, entries: [{ id: a.id, origin: null }], maxLength: 50 }]);
        }),
      );
    }
    const before = count();
    const trimmedPass = await pass(trimmedStore);
    const trimmed_feed = { writes: 40_000, max_length: 50, activity_rows_before: before, activity_rows_after: count(), pass_ms: Math.round(trimmedPass.ms) };
    await trimmedStore.close();

    writeResult('sweep', { fanout_entry_index, sweep: sweepFigures, trimmed_feed });
    console.log(JSON.stringify({ fanout_entry_index, sweep: sweepFigures, trimmed_feed }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
