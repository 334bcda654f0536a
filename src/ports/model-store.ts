/**
 * Snapshots of each app's personalization model (personalization.md §5 `p_models`, §6.2): the
 * heads' weights and accumulators plus the learner's state (item index, pending impressions,
 * validation sums), each as opaque bytes, tagged with the event `seq` they include. A restart
 * loads the newest snapshot and replays the event log after its `seq`; processes that serve reads
 * without learning poll {@link ModelStore.latestVersion} and load a newer snapshot when one appears.
 */

/** One saved snapshot. Times in microseconds. */
export interface ModelSnapshot {
  /** Increases with every snapshot of the app; assigned by the store. */
  readonly version: number;
  /** The last event seq the snapshot includes. */
  readonly seq: number;
  /** Examples learned in all. */
  readonly updates: number;
  readonly createdUs: number;
  readonly model: Uint8Array;
  readonly state: Uint8Array;
}

export type NewModelSnapshot = Omit<ModelSnapshot, 'version'>;

/**
 * Saves and loads snapshots. Every method is one round trip.
 *
 * @example
 *   const v = await models.saveSnapshot('1', { seq: 812, updates: 5000, createdUs, model, state }, 3);
 *   (await models.latestSnapshot('1'))?.version === v // true
 */
export interface ModelStore {
  /**
   * Stores a snapshot as the app's newest and keeps only the newest `keep` (≥ 1). Returns its
   * version. Atomic: a reader sees the previous newest or this one, never a part of it.
   */
  saveSnapshot(app: string, snapshot: NewModelSnapshot, keep: number): Promise<number>;
  /** The newest snapshot of `app`, or null when none was saved. */
  latestSnapshot(app: string): Promise<ModelSnapshot | null>;
  /** The version of the newest snapshot (cheap: no bytes), or null. */
  latestVersion(app: string): Promise<number | null>;
}
