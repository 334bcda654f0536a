import { isPlainObject } from '../../core/activities/activity.js';
import { InputError } from '../../core/errors.js';
import type { App } from '../../core/feeds/feed-group.js';

import { parseEvents, recordEvents, type EventCaller, type IngestDeps } from './ingest-events.js';

/** Longest accepted redirect target. */
const MAX_URL = 4096;

/**
 * The analytics redirect (stream-v2-api.md §16): validates the target (an absolute http or https
 * URL), records the URL's events — impressions (`content_list` or `foreign_ids`) and engagements
 * (those with a `label`; `content` or `foreign_id`), `user_id` standing for `user_data` — and
 * returns the target to redirect to. Bad events are refused like any analytics request (400).
 */
export async function ingestRedirect(s: IngestDeps, app: App, caller: EventCaller, url: string, eventsText: string | undefined): Promise<string> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new InputError('url must be an absolute http or https URL');
  }
  if ((target.protocol !== 'http:' && target.protocol !== 'https:') || url.length > MAX_URL) throw new InputError('url must be an absolute http or https URL');
  if (eventsText === undefined || eventsText === '' || eventsText === '[]') return target.href;
  let parsed: unknown;
  try {
    parsed = JSON.parse(eventsText);
  } catch {
    throw new InputError('events must be a JSON array');
  }
  if (!Array.isArray(parsed)) throw new InputError('events must be a JSON array');
  const impressions: unknown[] = [];
  const engagements: unknown[] = [];
  for (const e of parsed) {
    if (!isPlainObject(e)) throw new InputError('each event must be an object');
    const x: Record<string, unknown> = { ...e };
    if (x.user_data === undefined && x.user_id !== undefined) x.user_data = x.user_id;
    delete x.user_id;
    if (x.label !== undefined) {
      if (x.content === undefined && x.foreign_id !== undefined) x.content = x.foreign_id;
      delete x.foreign_id;
      engagements.push(x);
    } else {
      if (x.content_list === undefined && x.foreign_ids !== undefined) x.content_list = x.foreign_ids;
      delete x.foreign_ids;
      impressions.push(x);
    }
  }
  // Both kinds are validated before either is stored, and stored in one commit.
  const nowUs = s.clock.now();
  const events = [
    ...(engagements.length > 0 ? parseEvents(caller, 'engagement', engagements, nowUs) : []),
    ...(impressions.length > 0 ? parseEvents(caller, 'impression', impressions, nowUs) : []),
  ];
  await recordEvents(s, app, events, nowUs);
  return target.href;
}
