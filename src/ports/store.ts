import type { ChangeMarks } from './change-marks.js';
import type { SignalStore } from './signal-store.js';
import type { StoragePorts } from './storage.js';

/**
 * A storage backend as a process opens it: its storage ports (what services read and write
 * through, docs/storage-ports.md), the personalization stores, the change marks of read caches,
 * and its lifecycle and maintenance.
 */
export interface Store {
  /** The storage ports of docs/storage-ports.md. */
  readonly ports: StoragePorts;
  /** The personalization stores (event log, profiles, content tags, hides) over the same data. */
  readonly signals: SignalStore;
  /**
   * The marks every write leaves naming what it changed (see {@link ChangeMarks}): what lets a
   * read cache drop only the answers a write made stale. Backends without them leave it out, and
   * the read cache then drops everything on every write ({@link changeMark}).
   */
  readonly changes?: ChangeMarks;
  /**
   * A value that differs whenever stored data may have changed since it was last taken, by any
   * writer (this process or another over the same data); cheap enough to call on every read.
   * Backends that cannot tell leave it out, and nothing is cached over them.
   */
  changeMark?(): string;
  /**
   * Schema migrations applied to the stored data and the number this version knows (readiness:
   * serving is safe once they are equal). Backends without migrations leave it out.
   */
  migrations?(): Promise<{ applied: number; latest: number }>;
  /** Resolves once this process may write (a backend may need others to notice it first). */
  ready?(): Promise<void>;
  /**
   * Checks the stored data for corruption, spending at most `budgetMs` (it reads everything, so
   * it runs beside requests, not in their way). Backends that cannot check leave it out.
   */
  checkIntegrity?(budgetMs: number): Promise<IntegrityReport>;
  /**
   * One bounded step of the sweep that deletes activities no feed holds any more (trimmed out of
   * every feed, or removed): looks at up to `limit` of the app's activities after `after` (a
   * cursor from the previous step; null starts over) and deletes those that no feed entry, queued
   * fan-out job or personalization hide refers to and that were first found so at least
   * `retentionMs` before `nowMs` (0: at once). Reactions on an activity do not keep it. Backends
   * that keep nothing unreferenced leave it out.
   */
  sweepActivities?(app: string, after: string | null, limit: number, nowMs: number, retentionMs: number): Promise<ActivitySweepStep>;
  /** Flushes and releases the backend. */
  close(): Promise<void>;
}

/** What an integrity check found. */
export interface IntegrityReport {
  /** `unknown`: the check did not finish within its budget, or could not run. */
  readonly status: 'ok' | 'corrupt' | 'unknown';
  /** The backend's descriptions of the first problems found (or why the check is `unknown`). */
  readonly problems: readonly string[];
  /** How long the check took (ms). */
  readonly ms: number;
}

/** What one step of {@link Store.sweepActivities} did. */
export interface ActivitySweepStep {
  /** The cursor of the next step; null when this step reached the app's last activity. */
  readonly next: string | null;
  /** Activities looked at. */
  readonly examined: number;
  /** Activities deleted. */
  readonly deleted: number;
}
