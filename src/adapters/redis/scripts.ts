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
    if (!(this.#name in cluster)) cluster.defineCommand(this.#name, { lua });
  }

  /** Runs the script on the node of `keys[0]` (directly, or queued in a pipeline). */
  run<T = unknown>(target: Cluster, keys: readonly string[], args: readonly (string | number)[]): Promise<T>;
  run(target: ChainableCommander, keys: readonly string[], args: readonly (string | number)[]): ChainableCommander;
  run(target: Cluster | ChainableCommander, keys: readonly string[], args: readonly (string | number)[]): unknown {
    const fn = (target as unknown as Record<string, (...a: (string | number)[]) => unknown>)[this.#name];
    return fn.call(target, keys.length, ...keys, ...args);
  }
}
