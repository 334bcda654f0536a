import { isUuid } from '../core/activities/activity-id.js';
import { InputError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import { MAX_BATCH_ACTIVITIES } from './add-activities.js';
import type { Uses } from './context.js';
import { idOfForeign } from './update-activities.js';

/** What getting activities by id uses. */
export type GetActivitiesDeps = Uses<'activities'>;

/**
 * Gets activities by `ids`, or by pairs of `foreign_ids` and `timestamps` (§6.7, lists as the
 * query's `list()` reads them), in request order; unknown ones are skipped. Returns the stored JSON texts (without origin).
 */
export async function getActivities(
  s: GetActivitiesDeps,
  app: App,
  q: { ids?: readonly string[]; foreign_ids?: readonly string[]; timestamps?: readonly string[] },
): Promise<string[]> {
  let ids: string[];
  if (q.ids !== undefined) {
    ids = q.ids.map((id) => {
      const v = id.toLowerCase();
      if (!isUuid(v)) throw new InputError(`ids: "${id.slice(0, 64)}" is not an activity id`);
      return v;
    });
  } else if (q.foreign_ids !== undefined || q.timestamps !== undefined) {
    const fids = q.foreign_ids ?? [];
    const times = q.timestamps ?? [];
    if (fids.length !== times.length) throw new InputError('foreign_ids and timestamps must have the same number of values');
    ids = fids.map((f, i) => idOfForeign(f, times[i], `foreign_ids[${i}]`));
  } else {
    throw new InputError('missing ids or foreign_ids and timestamps');
  }
  if (ids.length === 0) throw new InputError('missing ids or foreign_ids and timestamps');
  if (ids.length > MAX_BATCH_ACTIVITIES) throw new InputError(`at most ${MAX_BATCH_ACTIVITIES} activities per request`);
  const found = await s.ports.activities.getActivities(app.appId, ids);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    const a = found.get(id);
    if (a && !seen.has(id)) {
      seen.add(id);
      out.push(a.body);
    }
  }
  return out;
}
