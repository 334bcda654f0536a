import type { Store } from '../ports/store.js';

/** One thing that must hold before a process takes traffic. */
export interface ReadinessCheck {
  readonly name: string;
  run(): Promise<CheckOutcome> | CheckOutcome;
}

export interface CheckOutcome {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, CheckOutcome>>;
}

/** How long one check may take before it counts as failed (a store that hangs is not ready). */
export const CHECK_TIMEOUT_MS = 2000;

/** Runs every check at once; ready when all pass. A check that throws or times out fails with the reason. */
export async function checkReadiness(checks: readonly ReadinessCheck[], timeoutMs = CHECK_TIMEOUT_MS): Promise<Readiness> {
  const outcomes = await Promise.all(
    checks.map(async (c): Promise<[string, CheckOutcome]> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<CheckOutcome>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
      });
      try {
        return [c.name, await Promise.race([Promise.resolve(c.run()), timeout])];
      } catch (err) {
        return [c.name, { ok: false, detail: err instanceof Error ? err.message : String(err) }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: outcomes.every(([, o]) => o.ok), checks: Object.fromEntries(outcomes) };
}

/** The process has finished starting (listening, startup steps done) and is not shutting down. */
export function startedCheck(started: () => boolean): ReadinessCheck {
  return { name: 'started', run: () => (started() ? { ok: true } : { ok: false, detail: 'starting or shutting down' }) };
}

/**
 * The store answers a query. Dead-lettered fan-out jobs are named but do not fail the check: they
 * need an operator, not another process (see `rivulet dead-letters`).
 */
export function storeCheck(store: Pick<Store, 'ports'>): ReadinessCheck {
  return {
    name: 'store',
    async run() {
      const [pending, dead] = await Promise.all([store.ports.intents.pendingCount(), store.ports.intents.deadLetterCount()]);
      return { ok: true, detail: `open; ${pending} fan-out jobs queued${dead > 0 ? `, ${dead} dead-lettered` : ''}` };
    },
  };
}

/** Every schema migration this version knows has been applied (for stores that have migrations). */
export function migrationsCheck(store: Pick<Store, 'migrations'>): ReadinessCheck | null {
  const migrations = store.migrations?.bind(store);
  if (!migrations) return null;
  return {
    name: 'migrations',
    async run() {
      const { applied, latest } = await migrations();
      if (applied === latest) return { ok: true, detail: `${applied} of ${latest} applied` };
      if (applied > latest) return { ok: false, detail: `the data is at schema ${applied}, newer than this version of Rivulet knows (${latest})` };
      return { ok: false, detail: `${applied} of ${latest} applied` };
    },
  };
}

/**
 * The fan-out worker runs where this process is meant to run one (`expected`); elsewhere the check
 * passes and says so. Failing rounds are reported, not failed on: they do not stop this process from
 * serving, and the fan-out lag and queue metrics show them.
 */
export function workerCheck(worker: { status(): { running: boolean; failures: number } } | null, expected: boolean): ReadinessCheck {
  return {
    name: 'fanout_worker',
    run() {
      if (!expected) return { ok: true, detail: 'not run in this process' };
      const s = worker?.status();
      if (!s?.running) return { ok: false, detail: 'not running' };
      return { ok: true, detail: s.failures > 0 ? `running; the last ${s.failures} rounds failed and are retried` : 'running' };
    },
  };
}
