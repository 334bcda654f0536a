import { changeKey } from '../ports/change-marks.js';
import type { ChangeCache } from './change-cache.js';
import type { Services, Uses } from './context.js';

/** What reading activity bodies uses (the shared parts cache, else the activity store). */
export type ReadPartsDeps = Uses<'activities', 'parts' | 'readDeps'>;

/**
 * Activity bodies for reads, from the shared parts cache (`Services.parts`) where kept. A body
 * is the activity's stored JSON; it changes only with the activity (an update, a removal, an
 * erasure), which is what its change key names, so a kept body serves every page that shows the
 * activity until then. Pages are scanned as ids (no join, no body per entry) and the bodies they
 * lack are read in one batch.
 *
 * Returns the bodies in the order of `ids`; undefined for an activity that is not stored. A read
 * recorded for the read cache depends on each activity whose body it got. `look`: the cache's look
 * at the change marks (`sync()`) the caller started after its read began, used instead of a new one.
 */
export async function activityBodies(s: ReadPartsDeps, app: string, ids: readonly string[], look?: Promise<number>): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = new Array(ids.length);
  const cache = s.parts;
  if (cache === undefined) {
    const found = ids.length > 0 ? await s.ports.activities.getActivities(app, ids) : new Map();
    for (let i = 0; i < ids.length; i++) out[i] = found.get(ids[i])?.body;
    return out;
  }
  const at = await (look ?? cache.sync());
  const space = bodies(app);
  let missing: string[] | null = null;
  const deps = s.readDeps;
  for (let i = 0; i < ids.length; i++) {
    const body = cache.peekIn(space, ids[i]) as string | undefined;
    if (body === undefined) (missing ??= []).push(ids[i]);
    else {
      out[i] = body;
      if (deps) for (const d of cache.depsIn(space, ids[i])) deps.add(d);
    }
  }
  if (missing === null) return out;
  // The recording store notes the activities read here.
  const found = await s.ports.activities.getActivities(app, missing);
  await cache.sync();
  for (let i = 0; i < ids.length; i++) {
    if (out[i] !== undefined) continue;
    const a = found.get(ids[i]);
    if (a === undefined) continue;
    out[i] = a.body;
    cache.putIn(space, ids[i], at, [changeKey.activity(app, ids[i])], a.body);
  }
  return out;
}

/**
 * Whether `body` is the body of activity `id` that the parts cache keeps as current (as of its
 * last look at the change marks). A part built from a body the caller read earlier may only be
 * kept when it is: a body read before an update whose mark the cache has already seen would
 * otherwise be kept as if built after that update, and served stale until the next change.
 */
export function isKeptBody(cache: ChangeCache<string | Buffer>, app: string, id: string, body: string): boolean {
  const kept = cache.peekIn(bodies(app), id);
  return kept !== undefined && (kept === body || kept.toString() === body);
}

/** The parts-cache space of an app's activity bodies, keyed by activity id. */
const spaces = new Map<string, string>();
function bodies(app: string): string {
  let space = spaces.get(app);
  if (space === undefined) spaces.set(app, (space = `b|${app}`));
  return space;
}
