/**
 * The evaluation harness over HTTP (personalization.md §8, the `--http` mode): generator v1's world
 * driven through a live Rivulet server started in this process on a temp SQLite database, with a
 * simulated clock (`createRivulet({ clock })`) that the replay moves forward.
 *
 * - The world goes in through the official `getstream` client: users (`user(id).getOrCreate`), the
 *   follow graph (`followMany`, each reader's `timeline` following authors' `user` feeds) and the
 *   posts (`addActivities` on the author's `user` feed, each at its time, once the clock reaches it;
 *   hashtags and mentions in `text`, image labels in `image_labels`).
 * - The training log goes in through the `stream-analytics` client, as an app would send it: one
 *   `trackImpressions` per session (the session's items by `foreign_id`), and one
 *   `trackEngagements` with its `like`s and `show_less`es 30 s later.
 * - The learner and the content jobs run in the server's signal worker, stepped by the replay
 *   (after new posts, every 15 minutes of world time and before each read).
 * - Each test request is a personalized read over HTTP (`personalizedFeed`, `timeline`, 25
 *   results) at the request's time; its results (by `foreign_id`) are scored by the offline
 *   protocol against the same baselines and oracles, computed in memory on the same world.
 *
 * The server's selectors all look back the generator's window, so the server's candidates come
 * from the posts the offline requests' candidates come from; which of them it picks is its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { connect, type StreamClient } from 'getstream';
import StreamAnalytics from 'stream-analytics';
import { parseConfig } from '../src/config/config.js';
import { createRivulet, type Rivulet } from '../src/main.js';
import { evaluate, type EvaluationResult } from '../src/personalization/harness/evaluate.js';
import { generate, REACTION_DELAY_S, type GeneratorConfig, type Post } from '../src/personalization/harness/generator.js';
import { DEFAULT_LEARNED, LearnedPolicy } from '../src/personalization/harness/learned.js';
import { ENGAGEMENT_ONLY } from '../src/personalization/model/model.js';
import { NO_GUARDRAILS } from '../src/personalization/model/rerank.js';
import { ENGAGE_LABEL, harnessPolicies, NEGATIVE_LABEL, type Policy, type RequestView } from '../src/personalization/harness/policies.js';

const APP_ID = '1';
const API_KEY = 'harnesskey';
/** The learner and content jobs run at least this often in world time (seconds). */
const DRAIN_EVERY_S = 900;
/** Requests in flight while loading users, follows and posts. */
const WRITE_CONCURRENCY = 8;

export interface HttpRunStats {
  /** Calls made through each client. */
  readonly getstream_calls: number;
  readonly analytics_calls: number;
  readonly impressions_sent: number;
  readonly engagements_sent: number;
  readonly reads: number;
  /** Reads the model ranked (the others name a fallback in `version`). */
  readonly reads_by_model: number;
  readonly fallback_versions: Readonly<Record<string, number>>;
  /** Results outside the request's offline candidate pool (older than the window, say). */
  readonly results_outside_pool: number;
  readonly mean_results: number;
  /** Wall time of the replay (writes, events, reads) and of the whole run, seconds. */
  readonly replay_s: number;
  readonly total_s: number;
}

export interface HttpRun {
  /**
   * The offline protocol's result where `learned` is the server's personalized read over HTTP,
   * `learned_in_memory` the same model and guardrails run in memory on the same log, and
   * `engagement_only` that in-memory model ranked by `p_engage` alone.
   */
  readonly result: EvaluationResult;
  readonly http: HttpRunStats;
}

/** The rankings the server served, replayed as a policy (by request, in the protocol's order). */
class ServedPolicy implements Policy {
  readonly name = 'learned';
  private next = 0;
  constructor(private readonly served: readonly (readonly number[])[]) {}
  rank(_: RequestView): number[] {
    return [...this.served[this.next++]];
  }
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** What a post's activity says: hashtags and mentions in its text, image labels in `image_labels`. */
function activityOf(p: Post): Record<string, unknown> {
  const words: string[] = [];
  const images: string[] = [];
  for (const t of p.tags) {
    if (t.source === 'image') images.push(t.tag.replace(/^img:/, ''));
    else words.push(t.tag);
  }
  return {
    actor: `SU:a${p.author}`,
    verb: 'post',
    object: `post:${p.id}`,
    foreign_id: p.id,
    time: iso(p.time),
    text: words.join(' '),
    ...(images.length > 0 ? { image_labels: images } : {}),
  };
}

async function inParallel<T>(items: readonly T[], n: number, f: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]);
    }),
  );
}

/** Runs one world through a live server over HTTP and scores what its personalized reads served. */
export async function runHttpHarness(config: GeneratorConfig, seed: number, opts: { log?: (line: string) => void } = {}): Promise<HttpRun> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const world = generate(config, seed);
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-harness-http-'));
  const apiSecret = randomBytes(24).toString('base64url');
  const windowS = config.windowHours * 3600;
  const window = `${config.windowHours}h`;
  let nowUs = (world.posts[0]?.time ?? 0) * 1e6 - 3600e6;
  const parsed = parseConfig(
    {
      apps: [
        {
          app_id: APP_ID,
          api_key: API_KEY,
          api_secret: apiSecret,
          feed_groups: [
            { name: 'user', type: 'flat' },
            { name: 'timeline', type: 'flat' },
          ],
          personalization: {
            // Every selector looks back the generator's window, with room for the whole pool.
            selectors: [
              { type: 'following', cutoff_window: window, max: config.candidates },
              { type: 'popular', cutoff_window: window, max: config.candidates, min_popularity: 1 },
              { type: 'interest', cutoff_window: window, max: config.candidates },
              { type: 'similar', cutoff_window: window, max: 100 },
              { type: 'explore', cutoff_window: window, max: 100 },
            ],
            max_candidates: config.candidates,
            // World time runs far faster than wall time here: a snapshot every 6 hours of it, not every minute.
            learning: { snapshot_every: '6h' },
          },
        },
      ],
    },
    dir,
  );
  let rivulet: Rivulet | null = null;
  try {
    rivulet = await createRivulet({ config: parsed, logger: pino({ level: 'warn' }), worker: 'manual', clock: { nowUs: () => nowUs } });
    const address = await rivulet.listen(0, '127.0.0.1');
    const worker = rivulet.signalWorker!;
    const client: StreamClient = connect(API_KEY, apiSecret, APP_ID, { urlOverride: { api: `${address}/api/` } });
    const analytics = new StreamAnalytics({ apiKey: API_KEY, token: client.getAnalyticsToken(), baseUrl: `${address}/analytics/v1.0/` });
    let getstreamCalls = 0;
    let analyticsCalls = 0;
    let impressionsSent = 0;
    let engagementsSent = 0;

    // Users and the follow graph, before the first post.
    log(`http harness: ${world.users.length} users, ${world.authors.length} authors, ${world.posts.length} posts, ${world.log.time.length} impressions, ${world.requests.length} reads`);
    const ids = [...world.users.map((u) => u.id), ...world.authors.map((a) => a.id)];
    await inParallel(ids, WRITE_CONCURRENCY, async (id) => {
      getstreamCalls++;
      await client.user(id).getOrCreate({ name: id });
    });
    const follows = world.users.flatMap((u) => u.follows.map((a) => ({ source: `timeline:${u.id}`, target: `user:a${a}` })));
    for (let i = 0; i < follows.length; i += 500) {
      getstreamCalls++;
      await client.followMany!(follows.slice(i, i + 500), 0);
    }

    // The replay: posts, sessions (impressions, then their reactions) and reads in time order.
    type Step = { t: number; kind: 0 | 1 | 2; i: number };
    const steps: Step[] = [];
    const { log: L } = world;
    for (let i = 0; i < L.time.length; ) {
      let end = i + 1;
      while (end < L.time.length && L.time[end] === L.time[i] && L.user[end] === L.user[i]) end++;
      steps.push({ t: L.time[i], kind: 0, i });
      if (L.engaged.slice(i, end).some(Boolean) || L.negative.slice(i, end).some(Boolean)) steps.push({ t: L.time[i] + REACTION_DELAY_S, kind: 1, i });
      i = end;
    }
    world.requests.forEach((r, i) => steps.push({ t: r.time, kind: 2, i }));
    // At one time: reactions and impressions before reads (the protocol's `time + delay <= request`).
    steps.sort((a, b) => a.t - b.t || a.kind - b.kind || a.i - b.i);
    const postIndex = new Map(world.posts.map((p) => [p.id, p.index]));
    const served: number[][] = new Array(world.requests.length);
    const versions: Record<string, number> = {};
    let nextPost = 0;
    let drainedAt = -Infinity;
    let outside = 0;
    let resultsTotal = 0;
    const r0 = performance.now();
    const sessionEnd = (i: number) => {
      let end = i + 1;
      while (end < L.time.length && L.time[end] === L.time[i] && L.user[end] === L.user[i]) end++;
      return end;
    };
    for (const step of steps) {
      // Posts up to this time, one addActivities per author.
      const byAuthor = new Map<number, Post[]>();
      while (nextPost < world.posts.length && world.posts[nextPost].time <= step.t) {
        const p = world.posts[nextPost++];
        let list = byAuthor.get(p.author);
        if (list === undefined) byAuthor.set(p.author, (list = []));
        list.push(p);
      }
      if (byAuthor.size > 0) {
        nowUs = Math.max(nowUs, step.t * 1e6);
        await inParallel([...byAuthor], WRITE_CONCURRENCY, async ([author, posts]) => {
          getstreamCalls++;
          await client.feed('user', `a${author}`).addActivities(posts.map(activityOf) as any);
        });
        await worker.drainAll();
        drainedAt = step.t;
      }
      nowUs = Math.max(nowUs, step.t * 1e6);
      if (step.t - drainedAt >= DRAIN_EVERY_S || step.kind === 2) {
        await worker.drainAll();
        drainedAt = step.t;
      }
      if (step.kind === 0) {
        const end = sessionEnd(step.i);
        const user = world.users[L.user[step.i]].id;
        analyticsCalls++;
        impressionsSent += end - step.i;
        await analytics.trackImpressions([
          { user_data: user, content_list: Array.from({ length: end - step.i }, (_, k) => world.posts[L.post[step.i + k]].id), feed_id: `timeline:${user}`, tracked_at: iso(step.t) } as any,
        ]);
      } else if (step.kind === 1) {
        const end = sessionEnd(step.i);
        const user = world.users[L.user[step.i]].id;
        const events: any[] = [];
        for (let k = step.i; k < end; k++) {
          const content = { foreign_id: world.posts[L.post[k]].id };
          if (L.engaged[k]) events.push({ user_data: user, label: ENGAGE_LABEL, content, feed_id: `timeline:${user}`, tracked_at: iso(step.t) });
          if (L.negative[k]) events.push({ user_data: user, label: NEGATIVE_LABEL, content, feed_id: `timeline:${user}`, tracked_at: iso(step.t) });
        }
        analyticsCalls++;
        engagementsSent += events.length;
        await analytics.trackEngagements(events);
      } else {
        const r = world.requests[step.i];
        getstreamCalls++;
        const res = (await client.personalizedFeed({ feed_slug: 'timeline', user_id: world.users[r.user].id, limit: 25 } as any)) as any;
        const version = String(res.version);
        const key = version.startsWith('fallback:') ? version : 'model';
        versions[key] = (versions[key] ?? 0) + 1;
        const pool = new Set(r.candidates);
        const ranked: number[] = [];
        for (const a of res.results as { foreign_id?: string }[]) {
          const p = a.foreign_id === undefined ? undefined : postIndex.get(a.foreign_id);
          if (p === undefined) continue;
          if (!pool.has(p)) outside++;
          ranked.push(p);
        }
        resultsTotal += ranked.length;
        served[step.i] = ranked;
      }
    }
    const replayS = (performance.now() - r0) / 1000;
    log(`http harness: replay took ${replayS.toFixed(1)} s; scoring`);

    // The protocol, with the server's rankings as `learned` beside the in-memory policies.
    const inMemory = new LearnedPolicy('learned_in_memory', DEFAULT_LEARNED);
    const engagementOnly = new LearnedPolicy('engagement_only', { ...DEFAULT_LEARNED, objective: ENGAGEMENT_ONLY, guardrails: NO_GUARDRAILS }, inMemory);
    const result = evaluate(config, seed, [...harnessPolicies(), new ServedPolicy(served), inMemory, engagementOnly], world);
    const { model: _m, ...fallbacks } = versions;
    return {
      result,
      http: {
        getstream_calls: getstreamCalls,
        analytics_calls: analyticsCalls,
        impressions_sent: impressionsSent,
        engagements_sent: engagementsSent,
        reads: world.requests.length,
        reads_by_model: versions.model ?? 0,
        fallback_versions: fallbacks,
        results_outside_pool: outside,
        mean_results: resultsTotal / Math.max(1, world.requests.length),
        replay_s: Number(replayS.toFixed(1)),
        total_s: Number(((performance.now() - t0) / 1000).toFixed(1)),
      },
    };
  } finally {
    await rivulet?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

