import { randomUUID } from 'node:crypto';
import type { App } from '../../core/feeds/feed-group.js';
import { effectsOf } from '../../personalization/signals/effects.js';
import { eventWeight, ruleOf } from '../../personalization/signals/importance.js';
import type { ReactionRecord } from '../../ports/reaction-store.js';
import type { EventWrite } from '../../ports/signal-writes.js';
import type { Uses } from '../context.js';
import { factsOf } from './activity-facts.js';
import { RETRY_WINDOW_US } from './ingest-events.js';
import { settingsOf } from './signal-context.js';

/**
 * The engagement event of a new reaction (personalization.md §2.2: every reaction kind counts):
 * its kind is the label (the app's label map gives kind and weight; unknown kinds are `engage`
 * with weight 1), with the profile changes it causes, to be committed with the reaction itself.
 * Child reactions count on the activity they belong to. Two batch reads (the activity, its tags).
 */
export async function reactionEvent(s: Uses<'activities', 'signalStore' | 'signals'>, app: App, r: ReactionRecord): Promise<EventWrite> {
  const settings = settingsOf(s, app.appId);
  const rule = ruleOf(settings, r.kind);
  const weight = eventWeight(rule, undefined, undefined);
  const facts = (await factsOf(s, app.appId, [r.activityId])).get(r.activityId);
  return {
    event: {
      id: randomUUID(),
      source: 'reaction',
      user: r.userId,
      kind: rule.kind,
      label: r.kind,
      activity: facts ? r.activityId : null,
      foreignId: null,
      weight,
      feedId: null,
      location: null,
      position: null,
      features: r.parent === '' ? [] : ['reaction:child'],
      trackedUs: r.createdUs,
      receivedUs: r.createdUs,
    },
    dedupeKey: `reaction:${r.id}`,
    dedupeUntilUs: r.createdUs + RETRY_WINDOW_US,
    effects: facts ? effectsOf({ user: r.userId, kind: rule.kind, label: r.kind, weight, tags: facts.tags, author: facts.author, atUs: r.createdUs }, settings) : undefined,
  };
}
