import type { IntegrityReport, Store } from '../ports/store.js';
import type { ReadinessCheck } from './readiness.js';

/** Where integrity findings are reported (a pino logger fits). */
export interface IntegrityLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

/** What readiness reports about the data: `checking` until the start check answers. */
export type IntegrityStatus = 'checking' | 'ok' | 'corrupt' | 'unknown' | 'off';

/**
 * The data's health as far as this process knows: a bounded check of the whole store at start
 * (see {@link Store.checkIntegrity}), then every store failure that reports corruption. Corruption
 * is logged at `fatal` with SQLite's description and makes {@link ready} false for good (the data
 * needs an operator: restore from a backup or repair, then restart). A check that could not finish
 * within its budget is logged and does not hold readiness back.
 */
export class Integrity {
  readonly #log: IntegrityLog;
  #status: IntegrityStatus = 'checking';
  #problems: readonly string[] = [];

  constructor(log: IntegrityLog) {
    this.#log = log;
  }

  /** Runs the start check (`budgetMs` 0 or a store that cannot check: skipped). Resolves when it answered. */
  async checkAtStart(store: Pick<Store, 'checkIntegrity'>, budgetMs: number): Promise<IntegrityReport | null> {
    if (budgetMs <= 0 || !store.checkIntegrity) {
      if (this.#status === 'checking') this.#status = 'off';
      return null;
    }
    const report = await store.checkIntegrity(budgetMs);
    if (report.status === 'corrupt') {
      this.#corrupt(report.problems, { ms: report.ms }, 'DATA CORRUPTION: the integrity check at start found damaged pages in the database');
    } else if (this.#status === 'checking') {
      this.#status = report.status;
      if (report.status === 'ok') this.#log.info({ ms: report.ms }, 'database integrity check passed');
      else this.#log.warn({ ms: report.ms, problems: report.problems }, 'database integrity check did not finish; serving without its answer');
    }
    return report;
  }

  /** Records a store failure that reported corrupt data (a read of damaged pages). */
  corruptionSeen(err: unknown): void {
    const detail = err instanceof Error ? String((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    this.#corrupt([detail], { err }, 'DATA CORRUPTION: a store operation read damaged pages of the database');
  }

  /** Whether the data is fit to serve: not known to be corrupt, and the start check answered (or is off). */
  get ready(): boolean {
    return this.#status !== 'checking' && this.#status !== 'corrupt';
  }

  /** The check `/readyz` runs: fails while the start check runs and, for good, once corruption was seen. */
  readinessCheck(): ReadinessCheck {
    return {
      name: 'integrity',
      run: () => {
        const { status, problems } = this.report();
        if (status === 'corrupt') return { ok: false, detail: `the database is corrupt: ${problems.slice(0, 3).join('; ')}` };
        if (status === 'checking') return { ok: false, detail: 'the integrity check at start is running' };
        if (status === 'unknown') return { ok: true, detail: `not checked: ${problems[0] ?? 'no answer'}` };
        return { ok: true, detail: status === 'off' ? 'no check at start' : 'the check at start passed' };
      },
    };
  }

  /** The status and the first problems found, for readiness answers. */
  report(): { status: IntegrityStatus; problems: readonly string[] } {
    return { status: this.#status, problems: this.#problems };
  }

  #corrupt(problems: readonly string[], extra: object, msg: string): void {
    const first = this.#status !== 'corrupt';
    this.#status = 'corrupt';
    if (first) this.#problems = problems.slice(0, 20);
    // Every sighting is logged (each is a failed request); the message says what to do.
    this.#log.fatal({ ...extra, problems: problems.slice(0, 20) }, `${msg}; this node reports not ready until the database is restored or repaired`);
  }
}
