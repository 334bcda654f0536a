import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

/**
 * The shape of the source tree the composition relies on, read from the import lines: adapters
 * are named only in src/compose, services never see the combined store, and no modules import
 * each other in a circle.
 */
const SRC = resolve(import.meta.dirname, '..');

interface Edge {
  readonly to: string;
  /** `import type …`: gone at run time. */
  readonly typeOnly: boolean;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const out: Edge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    const to = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    if (existsSync(to)) out.push({ to, typeOnly });
  };
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'";]*?\sfrom\s+'(\.[^']+)'/gm)) add(m[2], m[1] !== undefined);
  for (const m of text.matchAll(/^\s*import\s+'(\.[^']+)'/gm)) add(m[1], false);
  for (const m of text.matchAll(/import\('(\.[^']+)'\)/g)) add(m[1], false);
  return out;
}

const graph = new Map(sources(SRC).map((f) => [f, importsOf(f)]));

/** The import circles among `files` (strongly connected components of more than one module). */
function circles(files: readonly string[], withTypes: boolean): string[][] {
  const inside = new Set(files);
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const e of graph.get(v) ?? []) {
      if (!inside.has(e.to) || (e.typeOnly && !withTypes)) continue;
      if (!index.has(e.to)) {
        visit(e.to);
        low.set(v, Math.min(low.get(v)!, low.get(e.to)!));
      } else if (onStack.has(e.to)) {
        low.set(v, Math.min(low.get(v)!, index.get(e.to)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        part.push(relative(SRC, w));
      } while (w !== v);
      if (part.length > 1) found.push(part.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

const under = (dir: string) => [...graph.keys()].filter((f) => f.startsWith(join(SRC, dir) + '/') || f === join(SRC, dir));

describe('source layout', () => {
  it('finds the modules and their imports', () => {
    // A parser that found nothing would pass every check below.
    assert.ok(graph.size > 100);
    const services = graph.get(join(SRC, 'compose', 'services.ts'))!;
    assert.ok(services.some((e) => e.to === join(SRC, 'compose', 'adapters.ts') && !e.typeOnly));
    assert.ok(services.some((e) => e.to === join(SRC, 'ports', 'store.ts') && e.typeOnly));
  });

  it('has no import circle at run time, and none at all in the command line', () => {
    assert.deepEqual(circles([...graph.keys()], false), []);
    assert.deepEqual(circles(under('cli'), true), []);
  });

  it('names adapters only in the composition root', () => {
    const adapters = join(SRC, 'adapters') + '/';
    const outside = [...graph]
      .filter(([f]) => !f.startsWith(adapters) && !f.startsWith(join(SRC, 'compose') + '/'))
      .filter(([, edges]) => edges.some((e) => e.to.startsWith(adapters)))
      .map(([f]) => relative(SRC, f));
    assert.deepEqual(outside, []);
  });

  it('gives services and routes the storage ports, not the combined store', () => {
    const store = join(SRC, 'ports', 'store.ts');
    // Lifecycle helpers the composition root hands the store to (readiness, integrity, timing).
    const lifecycle = new Set(['services/readiness.ts', 'services/integrity.ts', 'services/timed-store.ts']);
    const users = [...under('services'), ...under('http')]
      .filter((f) => !lifecycle.has(relative(SRC, f)))
      .filter((f) => graph.get(f)!.some((e) => e.to === store))
      .map((f) => relative(SRC, f));
    assert.deepEqual(users, []);
  });
});
