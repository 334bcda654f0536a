import type { QueueStats } from '../ports/metrics.js';
import type { IntentQueue } from '../ports/intent-queue.js';

/**
 * The fan-out queue as metrics report it: intents pending and dead-lettered, and the age of the
 * oldest pending one (three small reads of the intent queue).
 */
export async function queueStats(
  store: { readonly ports: { readonly intents: Pick<IntentQueue, 'pendingCount' | 'deadLetterCount' | 'pending'> } },
  now = Date.now(),
): Promise<QueueStats> {
  const q = store.ports.intents;
  const [pending, deadLettered] = await Promise.all([q.pendingCount(), q.deadLetterCount()]);
  if (pending === 0) return { pending, oldestAgeSeconds: null, deadLettered };
  const [oldest] = await q.pending(1);
  const queuedAt = oldest?.queuedAt ?? null;
  return { pending, oldestAgeSeconds: queuedAt === null ? null : Math.max(0, (now - queuedAt) / 1000), deadLettered };
}
