import type { App } from '../core/feeds/feed-group.js';
import type { QueuedJob } from '../ports/outbox.js';
import type { EntryRemoval, EntryWrite } from '../ports/write-store.js';
import type { Services } from './context.js';
import { applyToFollowers } from './plan-fanout.js';

/**
 * Runs one round of queued fan-out jobs (§ fan-out in DESIGN.md). Followers are paged in chunks;
 * each commit carries the entries of up to `chunkSize` followers together with the job cursors
 * reached and the jobs finished, so small jobs share a transaction and a crash resumes from the
 * last committed cursor. Entry writes are idempotent, so replaying a chunk is harmless.
 *
 * Returns the number of jobs finished in this round (0 when the queue was empty).
 */
export async function runFanoutJobs(s: Services, apps: ReadonlyMap<string, App>, maxJobs = 64): Promise<number> {
  const jobs = await s.store.pendingJobs(maxJobs);
  if (jobs.length === 0) return 0;
  let entries: EntryWrite[] = [];
  let removals: EntryRemoval[] = [];
  let progress: { jobId: number; cursor: string }[] = [];
  let complete: number[] = [];
  let followersInBatch = 0;
  let finished = 0;
  // Jobs are grouped per app in a commit, since a commit is scoped to one app.
  let batchApp: string | null = null;

  const flush = async () => {
    if (batchApp === null) return;
    await s.store.commit(batchApp, { entries, removals, progress, complete });
    finished += complete.length;
    entries = [];
    removals = [];
    progress = [];
    complete = [];
    followersInBatch = 0;
    batchApp = null;
  };

  for (const job of jobs) {
    const app = apps.get(job.app);
    if (batchApp !== null && batchApp !== job.app) await flush();
    batchApp = job.app;
    if (!app) {
      // The app was removed from the configuration: nothing left to deliver to.
      complete.push(job.jobId);
      continue;
    }
    await runJob(s, app, job, {
      add: (followers, cursor) => {
        applyToFollowers(app, job.kind, job.source, job.ids, followers, { entries, removals });
        followersInBatch += followers.length;
        if (cursor !== null) progress.push({ jobId: job.jobId, cursor });
        else complete.push(job.jobId);
      },
      full: () => followersInBatch >= s.fanout.chunkSize,
      flush: async () => {
        const keep = batchApp;
        await flush();
        batchApp = keep;
      },
    });
  }
  await flush();
  return finished;
}

interface ChunkSink {
  add(followers: string[], cursor: string | null): void;
  full(): boolean;
  flush(): Promise<void>;
}

async function runJob(s: Services, app: App, job: QueuedJob, sink: ChunkSink): Promise<void> {
  let cursor = job.cursor;
  for (;;) {
    const page = await s.store.followerPage(app.appId, job.source, cursor, s.fanout.chunkSize);
    sink.add(page.feeds, page.cursor);
    if (sink.full()) {
      await sink.flush();
      // Store calls may complete synchronously (embedded store): give requests a turn between
      // chunks so a huge fan-out never stalls the API.
      await new Promise((r) => setImmediate(r));
    }
    if (page.cursor === null) return;
    cursor = page.cursor;
  }
}
