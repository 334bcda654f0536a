import { openStore } from '../compose/adapters.js';
import type { IntentQueue, QueuedIntent } from '../ports/intent-queue.js';

type DeadLetter = QueuedIntent & { readonly error: string; readonly failedAt: number };
import { loadConfig, resolveServeOptions } from '../compose/environment.js';

export interface DeadLetterOptions {
  data?: string;
  config?: string;
  /** Put the jobs back in the queue (all, or those of `job`). */
  requeue?: boolean;
  job?: string[];
}

/** How many dead letters `rivulet dead-letters` lists at most. */
const LIST_LIMIT = 1000;

/** The dead-letter list as text, one job per block: what failed, how often, when, and why. */
export function describeDeadLetters(letters: readonly DeadLetter[], total: number): string {
  if (total === 0) return 'No dead-lettered fan-out jobs.\n';
  const lines = [`${total} dead-lettered fan-out job${total === 1 ? '' : 's'}${total > letters.length ? ` (the oldest ${letters.length} shown)` : ''}:`];
  for (const d of letters) {
    lines.push(
      `  job ${d.id}: ${d.kind} of ${d.ids.length} activit${d.ids.length === 1 ? 'y' : 'ies'} from ${d.source} (app ${d.app})`,
      `    ${d.attempts} attempts, the last at ${new Date(d.failedAt).toISOString()}${d.cursor !== null ? `, stopped at follower cursor ${d.cursor}` : ''}`,
      `    error: ${d.error}`,
    );
  }
  lines.push('`rivulet dead-letters --requeue` puts them back in the queue (a running fan-out worker picks them up within its poll).');
  return lines.join('\n') + '\n';
}

/** Lists the dead letters of the intent queue, or requeues them; returns the text to print. */
export async function deadLetterCommand(outbox: Pick<IntentQueue, 'requeueDeadLetters' | 'deadLetters' | 'deadLetterCount'>, o: Pick<DeadLetterOptions, 'requeue' | 'job'>): Promise<string> {
  if (o.requeue) {
    const ids = o.job?.map((j) => {
      if (!/^[\w-]{1,64}$/.test(j)) throw new Error(`--job: "${j}" is not a job id`);
      return j;
    });
    const moved = await outbox.requeueDeadLetters(ids);
    return `Put ${moved} fan-out job${moved === 1 ? '' : 's'} back in the queue.\n`;
  }
  return describeDeadLetters(await outbox.deadLetters(LIST_LIMIT), await outbox.deadLetterCount());
}

/** `rivulet dead-letters`: fan-out jobs that failed for good, listed or put back in the queue. */
export async function deadLetters(o: DeadLetterOptions): Promise<void> {
  const { dataDir, configFile } = resolveServeOptions(o);
  const { config } = loadConfig(dataDir, configFile);
  const store = await openStore(config);
  try {
    process.stdout.write(await deadLetterCommand(store.ports.intents, o));
  } finally {
    await store.close();
  }
}
