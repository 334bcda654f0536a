/**
 * `npm run bench -- signals`: the personalization signal pipeline (issue 14).
 *
 * - Analytics ingestion over HTTP: `POST /analytics/v1.0/engagement/` with batches of 10 events
 *   (the stream-analytics client's shape), `--requests` distinct requests sent once each with 10
 *   in flight (every event distinct, so none is taken for a retry), against a same-run ceiling: a
 *   bare Fastify route on this process that parses the same bodies and answers 201 without
 *   storing anything. The load generator runs in its own thread.
 * - Content tagging: keyword and entity extraction alone (activities/s, one core), and whole
 *   `content.process` rounds (read, extract, store, complete) over the same activities.
 * - Like → interest: the time from sending a like through the reactions API until a ranked read
 *   by `interest_score * decay_exp(time)` shows the liked topic first, and whether the first read
 *   after the acknowledgement already shows it.
 *
 * Options: --requests N (default 5000), --activities N (default 2000).
 */
import Fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../src/config/config.js';
import { createRivulet } from '../src/main.js';
import { extractTerms } from '../src/personalization/signals/keywords.js';
import { intOption, jwt, log, round } from './harness.js';
import { Load, type HttpReq } from './load.js';
import { writeResult } from './report.js';
import { mainThreadCpuMs } from './metrics.js';

const TOPICS = ['ski', 'jazz', 'ramen', 'chess', 'cycling', 'football', 'poetry', 'robotics'];
const WORDS: Record<string, string[]> = {
  ski: ['powder', 'slope', 'lift', 'Whistler Blackcomb', 'snowboard'],
  jazz: ['saxophone', 'quartet', 'Blue Note', 'improvisation', 'record'],
  ramen: ['broth', 'noodle', 'Tokyo', 'pork belly', 'miso'],
  chess: ['opening', 'endgame', 'Magnus Carlsen', 'rook', 'tournament'],
  cycling: ['climb', 'peloton', 'Tour de France', 'bike', 'saddle'],
  football: ['goal', 'striker', 'Champions League', 'match', 'referee'],
  poetry: ['verse', 'sonnet', 'Emily Dickinson', 'rhyme', 'reading'],
  robotics: ['servo', 'sensor', 'Boston Dynamics', 'arm', 'controller'],
};

function text(i: number): string {
  const topic = TOPICS[i % TOPICS.length];
  const w = WORDS[topic];
  return `Day ${i}: a long afternoon about ${w[i % 5]} and the ${w[(i + 1) % 5]} with @friend${i % 13}. We talked to people from ${w[(i + 2) % 5]} about the ${w[(i + 3) % 5]}! #${topic} #post${i % 7}`;
}

export async function signals(): Promise<void> {
  const requestCount = intOption('requests', 5000);
  const activities = intOption('activities', 2000);
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-signals-'));
  const apiKey = 'benchkey';
  const secret = randomBytes(24).toString('base64url');
  const config = parseConfig(
    {
      apps: [
        {
          app_id: '1',
          api_key: apiKey,
          api_secret: secret,
          feed_groups: [
            { name: 'user', type: 'flat' },
            { name: 'timeline', type: 'flat', ranking: { interest: { score: 'interest_score * decay_exp(time)' } } },
          ],
        },
      ],
    },
    dir,
  );
  const rivulet = await createRivulet({ config, logger: pino({ level: 'warn' }), worker: 'manual' });
  const base = await rivulet.listen(0, '127.0.0.1');
  const server = jwt(secret, { resource: '*', action: '*', feed_id: '*' });
  const analyticsToken = jwt(secret, { resource: 'analytics', action: '*', user_id: '*' });
  const load = new Load();
  const bare = Fastify();
  bare.post('/analytics/v1.0/engagement/', async (req, reply) => reply.code(201).send({ duration: '0ms', n: (req.body as { content_list: unknown[] }).content_list.length }));
  const bareBase = await bare.listen({ port: 0, host: '127.0.0.1' });
  try {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}/api/v1.0/${path}${path.includes('?') ? '&' : '?'}api_key=${apiKey}`, {
        method,
        headers: { authorization: server, 'content-type': 'application/json', 'stream-auth-type': 'jwt' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<any>;
    };

    log(`signals: posting ${activities} activities`);
    const ids: string[] = [];
    for (let i = 0; i < activities; i += 100) {
      const batch = [];
      for (let j = i; j < Math.min(activities, i + 100); j++) {
        batch.push({ actor: `SU:author${j % 40}`, verb: 'post', object: `note:${j}`, foreign_id: `post:${j}`, text: text(j), interest_tags: [TOPICS[j % TOPICS.length]] });
      }
      const r = await call('POST', `feed/user/author${(i / 100) % 40}/`, { activities: batch });
      ids.push(...r.activities.map((a: { id: string }) => a.id));
    }

    // Keyword extraction alone: the NLP model on the activities' texts (model loaded first).
    extractTerms('warm up the model');
    const texts = Array.from({ length: activities }, (_, i) => text(i));
    const k0 = performance.now();
    let terms = 0;
    for (const t of texts) {
      const r = extractTerms(t);
      terms += r.keywords.length + r.entities.length;
    }
    const extractMs = performance.now() - k0;
    // Whole content jobs: read, extract, build tags, store and complete, in rounds of 200.
    const c0 = performance.now();
    await rivulet.signalWorker!.drainAll();
    const contentMs = performance.now() - c0;
    const tagCount = [...(await rivulet.store.signals.tagsOf('1', ids.slice(0, 100))).values()].reduce((n, t) => n + t.length, 0) / 100;

    // Ingestion: distinct engagement batches of 10 (distinct tracked_at, so no retry collapses).
    const requests: HttpReq[] = [];
    const t0 = Date.now();
    for (let r = 0; r < 2 * requestCount; r++) {
      const events = [];
      for (let e = 0; e < 10; e++) {
        const n = r * 10 + e;
        events.push({
          label: ['click', 'view', 'like', 'share'][n % 4],
          content: { foreign_id: `post:${(n * 7919) % activities}` },
          user_data: { id: `reader${n % 500}`, alias: 'x' },
          feed_id: `timeline:reader${n % 500}`,
          location: 'feed',
          position: e,
          tracked_at: new Date(t0 - n).toISOString(),
        });
      }
      requests.push({
        method: 'POST',
        path: `/analytics/v1.0/engagement/?api_key=${apiKey}`,
        headers: { authorization: analyticsToken, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
        body: JSON.stringify({ content_list: events }),
      });
    }
    const timed = async (target: string, part: HttpReq[], concurrency = 10) => {
      const r = await load.batch(target, part, { concurrency });
      const ms = [...r.ms].sort((x, y) => x - y);
      const pct = (p: number) => round(ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)]);
      return { requestsPerS: part.length / ((r.t1 - r.t0) / 1000), latency: { p50: pct(50), p99: pct(99), max: pct(100) } };
    };
    const first = requests.slice(0, requestCount);
    const second = requests.slice(requestCount);
    log('signals: ingestion ceiling (bare route)');
    const ceiling = await timed(bareBase, first);
    log(`signals: ingestion into Rivulet (${requestCount} requests of 10 events, 10 in flight, then 50)`);
    // CPU of the main thread, where Rivulet serves (the load generator has its own thread): unlike
    // events per second, CPU per event barely moves when other processes take the cores.
    const cpu0 = mainThreadCpuMs();
    const ingest = await timed(base, first);
    const cpu1 = mainThreadCpuMs();
    const ingest50 = await timed(base, second, 50);
    const cpu2 = mainThreadCpuMs();
    const cpuPerEventUs = (a: number | null, b: number | null) => (a === null || b === null ? null : round(((b - a) * 1000) / (requestCount * 10)));
    const stored = await countEvents(rivulet.store.signals);
    const eventsPerS = ingest.requestsPerS * 10;

    // Like → interest_score: a reader follows two authors of different topics; liking a post of
    // the older topic must put that topic first on the next ranked read.
    log('signals: like → interest delay');
    const delays: { ack_ms: number; visible_ms: number; first_read_shows_it: boolean }[] = [];
    for (let r = 0; r < 20; r++) {
      const reader = `liker${r}`;
      const a = `topicA${r}`;
      const b = `topicB${r}`;
      await call('POST', 'follow_many/', [
        { source: `timeline:${reader}`, target: `user:${a}` },
        { source: `timeline:${reader}`, target: `user:${b}` },
      ]);
      const older = await call('POST', `feed/user/${a}/`, { actor: `SU:${a}`, verb: 'post', object: 'x', interest_tags: [`topic-a-${r}`] });
      await call('POST', `feed/user/${b}/`, { actor: `SU:${b}`, verb: 'post', object: 'y', interest_tags: [`topic-b-${r}`] });
      const other = await call('POST', `feed/user/elsewhere/`, { actor: 'SU:elsewhere', verb: 'post', object: 'z', interest_tags: [`topic-a-${r}`] });
      await rivulet.signalWorker!.drainAll();
      const s0 = performance.now();
      await call('POST', 'reaction/', { kind: 'like', activity_id: other.id, user_id: reader });
      const ack = performance.now() - s0;
      let first = true;
      let seen = -1;
      for (let k = 0; k < 100 && seen < 0; k++) {
        const page = await call('GET', `feed/timeline/${reader}/?ranking=interest&limit=2&user_id=${reader}`);
        if (page.results[0]?.id === older.id) seen = performance.now() - s0;
        else first = false;
      }
      delays.push({ ack_ms: round(ack), visible_ms: round(seen), first_read_shows_it: first && seen >= 0 });
    }
    const visible = delays.map((d) => d.visible_ms).sort((x, y) => x - y);

    const result = {
      what: 'analytics ingestion over HTTP (batches of 10, 10 connections), content tagging, like → interest_score delay; SQLite, one process',
      ingestion: {
        events_per_s: Math.round(eventsPerS),
        requests_per_s: round(ingest.requestsPerS),
        latency_ms: ingest.latency,
        server_cpu_us_per_event: cpuPerEventUs(cpu0, cpu1),
        events_per_s_50_in_flight: Math.round(ingest50.requestsPerS * 10),
        server_cpu_us_per_event_50_in_flight: cpuPerEventUs(cpu1, cpu2),
        latency_ms_50_in_flight: ingest50.latency,
        events_sent: requests.length * 10,
        events_stored: stored,
        target_events_per_s: 2000,
        ceiling_bare_route_requests_per_s: round(ceiling.requestsPerS),
        share_of_ceiling: round(ingest.requestsPerS / ceiling.requestsPerS),
      },
      content: {
        activities,
        keyword_extraction_activities_per_s: Math.round(activities / (extractMs / 1000)),
        keyword_extraction_ms_per_activity: round(extractMs / activities, 3),
        terms_per_activity: round(terms / activities),
        content_jobs_activities_per_s: Math.round(activities / (contentMs / 1000)),
        tags_per_activity: round(tagCount),
      },
      like_to_interest: {
        runs: delays.length,
        first_read_after_ack_shows_it: delays.filter((d) => d.first_read_shows_it).length,
        median_ms: visible[Math.floor(visible.length / 2)],
        max_ms: visible[visible.length - 1],
        median_like_ack_ms: delays.map((d) => d.ack_ms).sort((x, y) => x - y)[Math.floor(delays.length / 2)],
      },
    };
    writeResult('signals', result);
  } finally {
    await load.close();
    await bare.close();
    await rivulet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Events in app 1's log. */
async function countEvents(log: { readEvents(app: string, after: number, limit: number): Promise<{ seq: number }[]> }): Promise<number> {
  let n = 0;
  let after = 0;
  for (;;) {
    const page = await log.readEvents('1', after, 50_000);
    if (page.length === 0) return n;
    n += page.length;
    after = page[page.length - 1].seq;
  }
}
