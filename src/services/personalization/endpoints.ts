import { NotFoundError } from '../../core/errors.js';
import type { FeedGroup } from '../../core/feeds/feed-group.js';
import { discoverySettings, type PersonalizedSettings } from '../../personalization/serving/settings.js';

/**
 * Which ranking a personalized read's `endpoint` names (personalization.md §3.1): absent or
 * `personalized_feed` — the group's first ranking method of type `personalized`, else the app's
 * settings; `discovery_feed` — the same without the follow graph's candidates; the name of one of
 * the group's `personalized` methods — that method. Anything else is 404.
 */
export function endpointSettings(group: FeedGroup, app: PersonalizedSettings, endpoint: string | undefined): { name: string; settings: PersonalizedSettings } {
  const own = [...group.rankings.values()].find((m) => m.personalized !== undefined);
  const base = (own?.personalized as PersonalizedSettings | undefined) ?? app;
  if (endpoint === undefined || endpoint === '' || endpoint === 'personalized_feed') return { name: 'personalized_feed', settings: base };
  if (endpoint === 'discovery_feed') return { name: endpoint, settings: discoverySettings(base) };
  const named = group.rankings.get(endpoint);
  if (named?.personalized !== undefined) return { name: endpoint, settings: named.personalized as PersonalizedSettings };
  throw new NotFoundError(`personalization endpoint "${endpoint.slice(0, 64)}" does not exist for feed group "${group.name}"`);
}
