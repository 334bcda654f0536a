import type { ActivityDraft } from '../core/activities/activity.js';
import { parseBody } from '../core/activities/activity.js';
import { actorIsUser } from '../core/auth/principal.js';
import { NotAllowedError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import type { Uses } from './context.js';

/**
 * What a user token may write with an add (stream-v2-api.md §2.3): activities whose actor is the
 * user, sent `to` the user's own feeds and anyone's notification feed, and replacing (same
 * foreign_id + time, hence the same id) only activities the user wrote.
 */
export interface AddPolicy {
  /** Checks one validated activity of the request; throws 403/17. */
  checkDraft(draft: ActivityDraft, index: number): void;
  /** The user whose stored activities an add may replace. */
  readonly owner: string;
}

/** Whether a user may name `fid` in `to` or `target_feeds`: own feeds, anyone's notification feed. */
export function userMayTarget(app: App, userId: string, fid: string): boolean {
  const i = fid.indexOf(':');
  return fid.slice(i + 1) === userId || app.groups.get(fid.slice(0, i))?.type === 'notification';
}

export function userAddPolicy(app: App, userId: string): AddPolicy {
  return {
    owner: userId,
    checkDraft(draft) {
      if (!actorIsUser(draft.actor, userId)) {
        throw new NotAllowedError(`user ${userId} cannot add activities with actor ${draft.actor.slice(0, 80)}`);
      }
      for (const t of draft.to) if (!userMayTarget(app, userId, t)) throw new NotAllowedError(`user ${userId} cannot add activities to ${t}`);
    },
  };
}

/**
 * Refuses (403/17) when any of `ids` is a stored activity whose actor is not `userId`. An add with
 * the foreign_id and time of an existing activity replaces it in place, in every feed holding it,
 * so a user who can read someone's activity could otherwise rewrite it. One batched look-up.
 *
 * The look-up and the commit that follows are two store calls: an activity created between them
 * with the same id is replaced. Its id must then be known before it exists (a foreign_id and a
 * microsecond time chosen by its writer), so this is not a way to reach an existing activity.
 */
export async function checkReplacements(s: Uses<'activities'>, app: App, ids: readonly string[], userId: string): Promise<void> {
  const existing = await s.ports.activities.getActivities(app.appId, ids);
  for (const rec of existing.values()) {
    if (!actorIsUser(parseBody(rec.body).actor, userId)) {
      throw new NotAllowedError(`activity ${rec.id} belongs to another user; a user token can only replace its own activities`);
    }
  }
}
