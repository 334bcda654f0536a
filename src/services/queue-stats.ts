import type { QueueStats } from '../ports/metrics.js';
import type { Outbox } from '../ports/outbox.js';

/**
 * The fan-out queue as metrics report it: jobs pending, the age of the oldest and the jobs
 * dead-lettered (three small store reads).
 */
export async function queueStats(outbox: Pick<Outbox, 'pendingCount' | 'pendingJobs' | 'deadLetterCount'>, now = Date.now()): Promise<QueueStats> {
  const [pending, deadLettered] = await Promise.all([outbox.pendingCount(), outbox.deadLetterCount()]);
  if (pending === 0) return { pending, oldestAgeSeconds: null, deadLettered };
  const [oldest] = await outbox.pendingJobs(1);
  const queuedAt = oldest?.queuedAt ?? null;
  return { pending, oldestAgeSeconds: queuedAt === null ? null : Math.max(0, (now - queuedAt) / 1000), deadLettered };
}
