import type { QueueStats } from '../ports/metrics.js';
import type { Outbox } from '../ports/outbox.js';

/** The fan-out queue as metrics report it: jobs pending and the age of the oldest (two small store reads). */
export async function queueStats(outbox: Pick<Outbox, 'pendingCount' | 'pendingJobs'>, now = Date.now()): Promise<QueueStats> {
  const pending = await outbox.pendingCount();
  if (pending === 0) return { pending, oldestAgeSeconds: null };
  const [oldest] = await outbox.pendingJobs(1);
  const queuedAt = oldest?.queuedAt ?? null;
  return { pending, oldestAgeSeconds: queuedAt === null ? null : Math.max(0, (now - queuedAt) / 1000) };
}
