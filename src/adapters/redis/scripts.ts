import { createHash } from 'node:crypto';
import type { ChainableCommander, Cluster } from 'ioredis';
import { waitReady } from './connection.js';

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

/**
 * Lua functions of one library (`FUNCTION LOAD`), called with `FCALL <name> 1 <key> …`. A hot
 * path sends thousands of calls per page, and a call names its function in a few bytes where
 * `EVALSHA` names its script in 40; the calls are plain commands (no script bookkeeping per call
 * in the client). Same rule as {@link LuaScript}: a function touches the keys of its one key's slot.
 *
 * The library's name and its functions' names hold a hash of its code, so deployments of other
 * versions on the same cluster keep their own. It is loaded on every master before its first use
 * (a master's replicas receive it by replication, and it is kept in the append-only file); a call
 * that finds its function missing (a master that lost it, or one added since) is answered with
 * an error that {@link isMissingFunction} recognizes, after which {@link reload} loads it again.
 */
export class LuaFunctions<N extends string> {
  readonly #code: string;
  readonly #names: Record<N, string>;
  #loading: Promise<void> | null = null;

  /** `bodies`: each function's body, which sees its key as `KEYS[1]` and its arguments as `ARGV`. */
  constructor(library: string, bodies: Record<N, string>) {
    const tag = createHash('sha1').update(JSON.stringify([library, bodies])).digest('hex').slice(0, 8);
    this.#names = {} as Record<N, string>;
    const parts = [`#!lua name=rv_${library}_${tag}`];
    for (const [fn, body] of Object.entries(bodies) as [N, string][]) {
      const name = `rv${tag}${fn}`;
      this.#names[fn] = name;
      parts.push(`redis.register_function('${name}', function(KEYS, ARGV)\n${body}\nend)`);
    }
    this.#code = parts.join('\n');
  }

  /** The function's name, for `FCALL`. */
  name(fn: N): string {
    return this.#names[fn];
  }

  /** Resolves once the library is on every master (loaded once per process, unless reloaded). */
  ready(cluster: Cluster): Promise<void> {
    if (!this.#loading) {
      const loading = waitReady(cluster).then(async () => {
        await Promise.all(cluster.nodes('master').map((node) => node.call('FUNCTION', 'LOAD', 'REPLACE', this.#code)));
      });
      this.#loading = loading;
      loading.catch(() => {
        if (this.#loading === loading) this.#loading = null;
      });
    }
    return this.#loading;
  }

  /** Loads the library on every master again (after a call found its function missing). */
  reload(cluster: Cluster): Promise<void> {
    this.#loading = null;
    return this.ready(cluster);
  }
}

/** Whether a call failed because its master does not have the function (see {@link LuaFunctions}). */
export function isMissingFunction(err: unknown): boolean {
  return err instanceof Error && /Function not found/i.test(err.message);
}
