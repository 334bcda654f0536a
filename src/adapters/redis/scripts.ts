import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ChainableCommander, Cluster } from 'ioredis';
import { waitReady } from './connection.js';

// ioredis's own script command (EVALSHA, sent as EVAL on a connection's first use and again after
// NOSCRIPT), its pipeline class and its automatic pipelining, used without `defineCommand`: a
// command defined that way is copied onto every pipeline the client makes (each tick's automatic
// pipeline per node included), which with this store's fifty-odd scripts cost more than the
// commands themselves on a read of a few commands.
const ioredisInternal = createRequire(import.meta.url);
type ScriptCommand = { execute(container: unknown, args: unknown[], options: { replyEncoding: 'utf8' | null }): unknown };
const IoredisScript = ioredisInternal('ioredis/built/Script.js').default as new (lua: string, numberOfKeys: number, keyPrefix: string, readOnly: boolean) => ScriptCommand;
const IoredisPipeline = ioredisInternal('ioredis/built/Pipeline.js').default as { prototype: Record<string, unknown> };
const executeWithAutoPipelining = ioredisInternal('ioredis/built/autoPipelining.js').executeWithAutoPipelining as (client: Cluster, fn: string, command: string, args: unknown[], callback: undefined) => Promise<unknown>;

/**
 * A Lua script run with EVALSHA (ioredis loads it on a node that does not know it yet, also
 * inside pipelines). Every script touches the keys of ONE hash slot: `KEYS[1]` names the owner
 * (e.g. `rv:{1}:` for an app, `rv:{1|f|user:42}:` for a feed) and the script builds the names of
 * the owner's keys from it, so it never reaches into another slot.
 *
 * Run on the cluster, a script goes into the tick's automatic pipeline of its key's node like any
 * command; run on a pipeline, it is queued there. The script is a method of ioredis's pipeline
 * class (`rv_<name>`, and `rv_<name>Buffer` for bulk replies as Buffers), defined once per process.
 */
export class LuaScript {
  readonly #name: string;
  readonly #script: ScriptCommand;

  constructor(_cluster: Cluster, name: string, lua: string) {
    this.#name = `rv_${name}`;
    const known = scripts.get(this.#name);
    if (known) {
      this.#script = known;
      return;
    }
    const script = new IoredisScript(lua, 1, '', false);
    scripts.set(this.#name, script);
    this.#script = script;
    const method = (replyEncoding: 'utf8' | null) =>
      function (this: unknown, ...args: unknown[]) {
        return script.execute(this, args, { replyEncoding });
      };
    IoredisPipeline.prototype[this.#name] = method('utf8');
    IoredisPipeline.prototype[`${this.#name}Buffer`] = method(null);
  }

  /** Runs the script on the node of its one key (directly, or queued in a pipeline). */
  run<T = unknown>(target: Cluster, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<T>;
  run(target: ChainableCommander, keys: readonly string[], args: readonly (string | number | Buffer)[]): ChainableCommander;
  run(target: Cluster | ChainableCommander, keys: readonly string[], args: readonly (string | number | Buffer)[]): unknown {
    return this.#send(target, keys, args, this.#name, 'utf8');
  }

  /** {@link run} on the cluster with bulk replies as Buffers (binary values). */
  runBuffer<T = unknown>(target: Cluster, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<T> {
    return this.#send(target, keys, args, `${this.#name}Buffer`, null) as Promise<T>;
  }

  #send(target: Cluster | ChainableCommander, keys: readonly string[], args: readonly (string | number | Buffer)[], fn: string, replyEncoding: 'utf8' | null): unknown {
    if (keys.length !== 1) throw new Error(`script ${this.#name} takes one key`);
    const t = target as unknown as { isPipeline?: boolean; options: { enableAutoPipelining?: boolean } } & Record<string, (...a: unknown[]) => unknown>;
    if (t.isPipeline) return t[fn](keys[0], ...args);
    if (t.options.enableAutoPipelining) return executeWithAutoPipelining(target as Cluster, fn, this.#name, [keys[0], ...args], undefined);
    return this.#script.execute(target, [keys[0], ...args], { replyEncoding });
  }
}

/** Every script of the process by name (one ioredis script command each). */
const scripts = new Map<string, ScriptCommand>();

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
