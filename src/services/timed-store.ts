import type { Metrics } from '../ports/metrics.js';
import type { Store } from '../ports/store.js';

/**
 * Not timed: `changeMark` is called on every read to check the read cache and costs less than a
 * clock reading; the others are the store's lifecycle, not calls serving a request.
 */
const UNTIMED = new Set(['constructor', 'changeMark', 'ready', 'close', 'migrations']);

/** Every method name of `obj` and its prototypes, up to Object.prototype. */
function methodNames(obj: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = obj; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) {
      if (typeof (obj as Record<string, unknown>)[n] === 'function') names.add(n);
    }
  }
  return [...names];
}

/**
 * Wraps a store so that every call's duration is recorded by store method (one recorder per
 * method, resolved here once). The fan-out lag of applied intents is reported by the worker.
 *
 * Calls are counted per store call, never per item; a read answered from the read cache makes no
 * timed call at all (`changeMark` is not timed). The wrapper is a plain object with one function
 * per method, bound to the store, so the store's private fields keep working.
 */
export function timeStore(store: Store, metrics: Metrics): Store {
  const out = timed(store, metrics, '');
  // The storage ports: each method timed as `<port>.<method>` (e.g. `timelines.scan`).
  if (store.ports) {
    const ports: Record<string, unknown> = {};
    for (const [name, port] of Object.entries(store.ports)) ports[name] = timed(port as object, metrics, `${name}.`);
    out.ports = ports;
  }

  // Sub-stores the store carries as properties (e.g. `signals`) pass through untimed: their own
  // calls are few per request and have their own ports.
  for (const name of Object.keys(store)) {
    const v = (store as unknown as Record<string, unknown>)[name];
    if (typeof v !== 'function' && !(name in out)) out[name] = v;
  }

  return out as unknown as Store;
}

/** `target`'s methods, each timed by name (with `prefix`); lifecycle methods bound untimed. */
function timed(target: object, metrics: Metrics, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of methodNames(target)) {
    const fn = (target as Record<string, (...args: unknown[]) => unknown>)[name];
    if (UNTIMED.has(name)) {
      out[name] = fn.bind(target);
      continue;
    }
    const rec = metrics.storeMethod(prefix + name);
    out[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      let result: unknown;
      try {
        result = fn.apply(target, args);
      } catch (err) {
        rec.observe((performance.now() - t0) / 1000, true);
        throw err;
      }
      if (result instanceof Promise) {
        return result.then(
          (v) => {
            rec.observe((performance.now() - t0) / 1000, false);
            return v;
          },
          (err: unknown) => {
            rec.observe((performance.now() - t0) / 1000, true);
            throw err;
          },
        );
      }
      rec.observe((performance.now() - t0) / 1000, false);
      return result;
    };
  }
  // Plain properties (a port's declared traits, e.g. IntentQueue.ordered) pass through.
  for (const name of Object.keys(target)) {
    const v = (target as Record<string, unknown>)[name];
    if (typeof v !== 'function' && !(name in out)) out[name] = v;
  }
  return out;
}
