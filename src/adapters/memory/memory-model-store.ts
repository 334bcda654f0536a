import type { ModelSnapshot, ModelStore, NewModelSnapshot } from '../../ports/model-store.js';

/** {@link ModelStore} in this process's memory: the harness, tests and stores that keep no snapshots. */
export class MemoryModelStore implements ModelStore {
  readonly #apps = new Map<string, ModelSnapshot[]>();

  async saveSnapshot(app: string, s: NewModelSnapshot, keep: number): Promise<number> {
    const list = this.#apps.get(app) ?? [];
    const version = (list.at(-1)?.version ?? 0) + 1;
    list.push({ ...s, version, model: Uint8Array.from(s.model), state: Uint8Array.from(s.state) });
    this.#apps.set(app, list.slice(-Math.max(1, keep)));
    return version;
  }

  async latestSnapshot(app: string): Promise<ModelSnapshot | null> {
    return this.#apps.get(app)?.at(-1) ?? null;
  }

  async latestVersion(app: string): Promise<number | null> {
    return this.#apps.get(app)?.at(-1)?.version ?? null;
  }
}
