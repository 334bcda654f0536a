/**
 * `npm run bench -- personalized-read`: personalized reads over HTTP (personalization.md §12, T8
 * and the second half of T9).
 *
 * - A world on SQLite: `--authors` authors (default 200) post 8 tagged posts each; every reader
 *   follows 70 authors, so the reader's feed alone holds 560 candidates and each read ranks the
 *   500 the selectors allow. Readers see posts and click those of their two topics and skip some
 *   others (analytics over HTTP); the learner takes the log in, so reads use the model.
 * - T8: `GET enrich/personalization/feed/?limit=25` for many readers, first pages (each computed:
 *   candidates, filters, batched features, scores, guardrails, enrichment), 8 in flight, warm.
 * - T9: a reader likes a post of a topic they never clicked; the time until the reader's next
 *   read (the whole ranked list, computed afresh) puts that topic's other candidates higher on
 *   average among the candidates of both reads (the profile changes in the like's commit, the
 *   model when the learner, woken by the event, has learned it), and until the model stepped
 *   (`version` changed); for 20 readers through the process that learns and 10 through a second
 *   process on the same database that only serves reads.
 *
 * - After T8, the same reads one at a time through Fastify's inject, 5 rounds of 400: the process's
 *   CPU time per read with nothing else in flight (`serial_in_process`: the rounds' median and least).
 *
 * Options: --authors=N, --readers=N (default 200), --requests=N (default 3000), --t9-polls=N (reads per
 * T9 sample at most, default 100), --profile DIR (CPU profiles of the T8 and the one-at-a-time reads).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../src/config/config.js';
import { createRivulet } from '../src/main.js';
import { intOption, jwt, log, profiled, round } from './harness.js';
import { Load, type HttpReq } from './load.js';
import { writeResult } from './report.js';

const TOPICS = ['ski', 'jazz', 'ramen', 'chess', 'cycling', 'football', 'poetry', 'robotics', 'vote', 'gossip'];

export async function personalizedRead(): Promise<void> {
  const authors = intOption('authors', 200);
  const readers = intOption('readers', 200);
  const requestCount = intOption('requests', 3000);
  const t9Polls = intOption('t9-polls', 100);
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-personal-'));
  const apiKey = 'benchkey';
  const secret = randomBytes(24).toString('base64url');
  const config = parseConfig(
    {
      apps: [
        {
          app_id: '1',
          api_key: apiKey,
          api_secret: secret,
          feed_groups: [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }],
          // A short join window, so the impressions without engagement become examples before the reads.
          personalization: { learning: { join_window: '2s' } },
        },
      ],
      read_cache: { max_mb: 64 },
    },
    dir,
  );
  const rivulet = await createRivulet({ config, logger: pino({ level: 'warn' }), worker: true });
  const base = await rivulet.listen(0, '127.0.0.1');
  const server = jwt(secret, { resource: '*', action: '*', feed_id: '*' });
  const analyticsToken = jwt(secret, { resource: 'analytics', action: '*', user_id: '*' });
  const load = new Load();
  try {
    const call = async (method: string, path: string, body?: unknown, root = '/api/v1.0/', token = server, origin = base) => {
      const res = await fetch(`${origin}${root}${path}${path.includes('?') ? '&' : '?'}api_key=${apiKey}`, {
        method,
        headers: { authorization: token, 'content-type': 'application/json', 'stream-auth-type': 'jwt' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<any>;
    };
    const topicOf = (a: number) => TOPICS[a % TOPICS.length];
    log(`personalized-read: ${authors} authors × 8 posts`);
    const posts: { id: string; author: number }[] = [];
    for (let a = 0; a < authors; a++) {
      const batch = Array.from({ length: 8 }, (_, i) => ({ actor: `SU:author${a}`, verb: 'post', object: `note:${a}:${i}`, foreign_id: `post:${a}:${i}`, text: `A note on ${topicOf(a)} #${topicOf(a)} number ${i}` }));
      const r = await call('POST', `feed/user/author${a}/`, { activities: batch });
      for (const act of r.activities) posts.push({ id: act.id, author: a });
    }
    log(`personalized-read: ${readers} readers follow 70 authors each`);
    for (let r = 0; r < readers; r++) {
      const follows = Array.from({ length: 70 }, (_, k) => ({ source: `timeline:reader${r}`, target: `user:author${(r * 7 + k * 3) % authors}` }));
      await call('POST', 'follow_many/', follows);
    }
    log('personalized-read: impressions and engagements');
    for (let r = 0; r < readers; r++) {
      const likes = new Set([TOPICS[r % TOPICS.length], TOPICS[(r + 3) % TOPICS.length]]);
      const seen = Array.from({ length: 60 }, (_, k) => posts[(r * 131 + k * 17) % posts.length]);
      await call('POST', 'impression/', [{ user_data: `reader${r}`, content_list: seen.map((p) => p.id), feed_id: `timeline:reader${r}` }], '/analytics/v1.0/', analyticsToken);
      const events = seen.flatMap((p, k) =>
        likes.has(topicOf(p.author)) ? [{ user_data: `reader${r}`, label: 'click', content: p.id, feed_id: `timeline:reader${r}` }] : k % 5 === 0 ? [{ user_data: `reader${r}`, label: 'skip', content: p.id, feed_id: `timeline:reader${r}` }] : [],
      );
      if (events.length > 0) await call('POST', 'engagement/', { content_list: events }, '/analytics/v1.0/', analyticsToken);
    }
    await rivulet.signalWorker!.drainAll();
    await new Promise((res) => setTimeout(res, 2500));
    await rivulet.signalWorker!.drainAll();
    const probe = await call('GET', `enrich/personalization/feed/?feed_slug=timeline&user_id=reader0&limit=25`);
    log(`personalized-read: model version ${probe.version}, ${probe.results.length} results`);
    const candidates = await candidateCount(base, apiKey, server);

    // T8: first pages for many readers, 8 in flight, after a warm-up pass.
    const requests: HttpReq[] = Array.from({ length: requestCount }, (_, i) => ({
      method: 'GET',
      path: `/api/v1.0/enrich/personalization/feed/?api_key=${apiKey}&feed_slug=timeline&user_id=reader${i % readers}&limit=25`,
      headers: { authorization: server, 'stream-auth-type': 'jwt' },
    }));
    await load.batch(base, requests.slice(0, Math.min(400, requests.length)), { concurrency: 8 });
    log(`personalized-read: T8, ${requestCount} reads, 8 in flight`);
    const cpu0 = process.cpuUsage();
    const r = await profiled('personalized-read-t8', () => load.batch(base, requests, { concurrency: 8 }));
    const cpu = process.cpuUsage(cpu0);
    const ms = [...r.ms].sort((x, y) => x - y);
    const pct = (p: number) => round(ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)]);
    // CPU time of this process (server, SQLite writer and the load generator's thread) per read:
    // unlike latency, it does not grow while other processes hold the cores.
    const t8 = {
      reads_per_s: round(requests.length / ((r.t1 - r.t0) / 1000)),
      latency_ms: { p50: pct(50), p90: pct(90), p99: pct(99), max: pct(100) },
      process_cpu_ms_per_read: round((cpu.user + cpu.system) / 1000 / requests.length),
    };
    // The same reads one at a time through Fastify's inject (no sockets, nothing else in flight),
    // in rounds: the server's own CPU time per read, which depends far less on other processes
    // than latency; the least and the median of the rounds.
    const serialCount = Math.min(requestCount, 400);
    const serial = await profiled('personalized-read-serial', async () => {
      const rounds: number[] = [];
      const w0 = performance.now();
      for (let round = 0; round < 5; round++) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < serialCount; i++) {
          const q = requests[(round * serialCount + i) % requests.length];
          const res = await rivulet.http.inject({ method: 'GET', url: q.path, headers: q.headers });
          if (res.statusCode !== 200) throw new Error(`${q.path}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        }
        const c = process.cpuUsage(c0);
        rounds.push((c.user + c.system) / 1000 / serialCount);
      }
      const sorted = [...rounds].sort((x, y) => x - y);
      return {
        reads: 5 * serialCount,
        cpu_ms_per_read: round(sorted[2], 3),
        cpu_ms_per_read_least: round(sorted[0], 3),
        rounds_cpu_ms_per_read: rounds.map((x) => round(x, 3)),
        wall_ms_per_read: round((performance.now() - w0) / (5 * serialCount), 3),
      };
    });
    log(`personalized-read: one at a time in process, ${serial.cpu_ms_per_read} ms CPU per read`);

    // T9: like → the reader's next read ranks the liked topic's posts higher; like → the model stepped.
    log('personalized-read: T9, like → next read');
    const delays: { ack_ms: number; read_changed_ms: number; model_stepped_ms: number; first_read_shows_it: boolean; topic_posts: number; mean_position_before: number; mean_position_after: number }[] = [];
    // The reader's whole ranked list (ids), computed afresh: pages of one session.
    let sessions = 0;
    const rankedList = async (reader: string, origin: string) => {
      const session = `t9-${sessions++}`;
      const ids: string[] = [];
      let version = '';
      for (let offset = 0; offset < 2000; offset += 100) {
        const page = await call('GET', `personalized_feed/?feed_slug=timeline&user_id=${reader}&limit=100&offset=${offset}&session=${session}`, undefined, '/personalization/v1.0/', server, origin);
        version = page.version;
        for (const r of page.results as { activity_id: string }[]) ids.push(r.activity_id);
        if (page.results.length < 100) break;
      }
      return { ids, version };
    };
    const meanPosition = (ids: readonly string[], of: ReadonlySet<string>) => {
      let sum = 0;
      let n = 0;
      ids.forEach((id, i) => {
        if (of.has(id)) {
          sum += i;
          n++;
        }
      });
      return n === 0 ? NaN : sum / n;
    };
    // Readers 0-19 read from the process that learns; readers 20-29 from a second process on the
    // same database that only serves reads (it loads the learner's snapshot and learns the log after it).
    await rivulet.signalWorker!.snapshot();
    const serving = await createRivulet({ config, logger: pino({ level: 'warn' }), worker: false });
    const servingBase = await serving.listen(0, '127.0.0.1');
    const via: string[] = [];
    for (let k = 0; k < 30; k++) {
      const reader = `reader${k}`;
      const origin = k < 20 ? base : servingBase;
      via.push(k < 20 ? 'learning process' : 'serving process');
      // A post of a topic the reader never clicked, by an author the reader follows; the topic's
      // other posts among the reader's candidates are the ones watched.
      const followed = Array.from({ length: 70 }, (_, j) => (k * 7 + j * 3) % authors);
      const a = followed.find((x) => topicOf(x) !== TOPICS[k % TOPICS.length] && topicOf(x) !== TOPICS[(k + 3) % TOPICS.length])!;
      const liked = posts.filter((p) => p.author === a).at(-1)!;
      const before = await rankedList(reader, origin);
      const topic = new Set(posts.filter((p) => topicOf(p.author) === topicOf(a) && p.id !== liked.id && before.ids.includes(p.id)).map((p) => p.id));
      let mBefore = meanPosition(before.ids, topic);
      const inBefore = new Set(before.ids);
      const s0 = performance.now();
      await call('POST', 'engagement/', { content_list: [{ user_data: reader, label: 'like', content: liked.id, feed_id: `timeline:${reader}` }] }, '/analytics/v1.0/', analyticsToken);
      const ack = performance.now() - s0;
      let changed = -1;
      let stepped = -1;
      let first = true;
      let mAfter = NaN;
      for (let i = 0; i < t9Polls && (changed < 0 || stepped < 0); i++) {
        const now = await rankedList(reader, origin);
        const t = performance.now() - s0;
        // Places among the candidates of both reads only: candidates that came or went (the
        // selectors follow the profile too) do not move the others.
        const common = new Set(now.ids.filter((id) => inBefore.has(id)));
        const mB = meanPosition(before.ids.filter((id) => common.has(id)), topic);
        mAfter = meanPosition(now.ids.filter((id) => common.has(id)), topic);
        mBefore = mB;
        if (changed < 0 && mAfter < mB) changed = t;
        else if (changed < 0) first = false;
        if (stepped < 0 && now.version !== before.version) stepped = t;
        if (changed < 0 || stepped < 0) await new Promise((res) => setTimeout(res, 10));
      }
      delays.push({
        ack_ms: round(ack),
        read_changed_ms: round(changed),
        model_stepped_ms: round(stepped),
        first_read_shows_it: first && changed >= 0,
        topic_posts: topic.size,
        mean_position_before: round(mBefore),
        mean_position_after: round(mAfter),
      });
    }
    await serving.close();
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
    const summary = (ds: typeof delays) => {
      const sorted = (f: (d: (typeof delays)[number]) => number) => ds.map(f).sort((x, y) => x - y);
      return {
        samples: ds.length,
        read_changed: ds.filter((d) => d.read_changed_ms >= 0).length,
        read_changed_ms: { median: median(sorted((d) => d.read_changed_ms)), max: Math.max(...sorted((d) => d.read_changed_ms)) },
        model_stepped_ms: { median: median(sorted((d) => d.model_stepped_ms)), max: Math.max(...sorted((d) => d.model_stepped_ms)) },
        first_read_shows_it: ds.filter((d) => d.first_read_shows_it).length,
      };
    };
    const result = {
      what: 'personalized reads over HTTP: enrich/personalization/feed/ first pages (SQLite, one process, 8 in flight); like → next read',
      world: { authors, posts: posts.length, readers, follows_per_reader: 70, candidates_per_read: candidates, model_version: probe.version },
      t8: { ...t8, target: 'p99 ≤ 50 ms at 8 connections' },
      serial_in_process: serial,
      t9: {
        learning_process: summary(delays.filter((_, i) => via[i] === 'learning process')),
        serving_process: summary(delays.filter((_, i) => via[i] === 'serving process')),
        target: 'an engagement changes the next read within 1 s',
        delays: delays.map((d, i) => ({ via: via[i], ...d })),
      },
    };
    const file = writeResult('personalized-read', result);
    console.log(JSON.stringify({ world: result.world, t8: result.t8, serial_in_process: serial, t9: { ...result.t9, delays: undefined } }, null, 2));
    log(`personalized-read: written ${file}`);
  } finally {
    await load.close();
    await rivulet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How many candidates a read ranks: the ids-only resource with a large page. */
async function candidateCount(base: string, apiKey: string, token: string): Promise<number> {
  const res = await fetch(`${base}/personalization/v1.0/personalized_feed/?api_key=${apiKey}&feed_slug=timeline&user_id=reader0&limit=100&session=count`, {
    headers: { authorization: token, 'stream-auth-type': 'jwt' },
  });
  const body = (await res.json()) as { results: unknown[] };
  // Pages of 100 from one ranked list (the session keeps it).
  let n = body.results.length;
  for (let offset = 100; n === offset && offset < 5000; offset += 100) {
    const more = (await (
      await fetch(`${base}/personalization/v1.0/personalized_feed/?api_key=${apiKey}&feed_slug=timeline&user_id=reader0&limit=100&offset=${offset}&session=count`, {
        headers: { authorization: token, 'stream-auth-type': 'jwt' },
      })
    ).json()) as { results: unknown[] };
    n += more.results.length;
  }
  return n;
}
