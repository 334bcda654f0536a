import type { ChainableCommander, Cluster } from 'ioredis';

/**
 * A Lua script run with EVALSHA (ioredis loads it on a node that does not know it yet, also
 * inside pipelines). Every script touches the keys of ONE hash slot: `KEYS[1]` names the owner
 * (e.g. `rv:{1}:` for an app, `rv:{1|f|user:42}:` for a feed) and the script builds the names of
 * the owner's keys from it, so it never reaches into another slot.
 */
export class LuaScript {
  readonly #name: string;

  constructor(cluster: Cluster, name: string, lua: string) {
    this.#name = `rv_${name}`;
    // One declared key, so the client (and its automatic pipelining) routes by that key.
    if (!(this.#name in cluster)) cluster.defineCommand(this.#name, { lua, numberOfKeys: 1 });
  }

  /** Runs the script on the node of its one key (directly, or queued in a pipeline). */
  run<T = unknown>(target: Cluster, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<T>;
  run(target: ChainableCommander, keys: readonly string[], args: readonly (string | number | Buffer)[]): ChainableCommander;
  run(target: Cluster | ChainableCommander, keys: readonly string[], args: readonly (string | number | Buffer)[]): unknown {
    const fn = (target as unknown as Record<string, (...a: (string | number | Buffer)[]) => unknown>)[this.#name];
    if (keys.length !== 1) throw new Error(`script ${this.#name} takes one key`);
    return fn.call(target, keys[0], ...args);
  }

  /** {@link run} on the cluster with bulk replies as Buffers (binary values). */
  runBuffer<T = unknown>(target: Cluster, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<T> {
    const fn = (target as unknown as Record<string, (...a: (string | number | Buffer)[]) => Promise<T>>)[`${this.#name}Buffer`];
    if (keys.length !== 1) throw new Error(`script ${this.#name} takes one key`);
    return fn.call(target, keys[0], ...args);
  }
}
