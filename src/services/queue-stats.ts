import type { QueueStats } from '../ports/metrics.js';
import type { Outbox } from '../ports/outbox.js';
import type { IntentQueue } from '../ports/intent-queue.js';

/**
 * The fan-out queue as metrics report it: intents pending and dead-lettered (from the intent
 * queue), and the age of the oldest pending one (three small store reads).
 */
export async function queueStats(
  store: { readonly ports: { readonly intents: Pick<IntentQueue, 'pendingCount' | 'deadLetterCount'> } } & Pick<Outbox, 'pendingJobs'>,
  now = Date.now(),
): Promise<QueueStats> {
  const [pending, deadLettered] = await Promise.all([store.ports.intents.pendingCount(), store.ports.intents.deadLetterCount()]);
  if (pending === 0) return { pending, oldestAgeSeconds: null, deadLettered };
  const [oldest] = await store.pendingJobs(1);
  const queuedAt = oldest?.queuedAt ?? null;
  return { pending, oldestAgeSeconds: queuedAt === null ? null : Math.max(0, (now - queuedAt) / 1000), deadLettered };
}
