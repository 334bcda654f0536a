import { authorKey, interestScore, interestsOf, preferenceScore, preferencesOf } from '../../personalization/signals/interest.js';
import type { ProfileSource } from '../../ports/profile-store.js';
import type { Services } from '../context.js';
import { settingsOf } from './signal-context.js';

/** The ranking variables computed per reader (personalization.md §3.2). */
export const PERSONAL_VARIABLES = ['interest_score', 'preference_score'] as const;

/** Sets the personal variables a formula reads on one candidate (overriding fields of those names). */
export type PersonalFields = (id: string, activity: Record<string, unknown>) => void;

/**
 * The "feature plan" of a ranked read: when the formula reads `interest_score` or
 * `preference_score`, loads the reader's profile and the candidates' tags — two batch reads,
 * whatever the number of candidates — and returns what sets them per candidate; otherwise null
 * and nothing is read. Computed values replace activity fields of the same names, so a post
 * cannot claim its own interest score.
 */
export async function personalFields(s: Pick<Services, 'clock' | 'signalStore' | 'signals'>, appId: string, reader: string, variables: readonly string[], ids: readonly string[]): Promise<PersonalFields | null> {
  const wantInterest = variables.includes('interest_score');
  const wantPreference = variables.includes('preference_score');
  if (!wantInterest && !wantPreference) return null;
  const settings = settingsOf(s, appId);
  const sources: ProfileSource[] = [];
  if (wantInterest) sources.push('computed', 'manual');
  if (wantPreference) sources.push('preference');
  const [profiles, tags] = await Promise.all([s.signalStore.profilesOf(appId, [reader], sources), s.signalStore.tagsOf(appId, ids)]);
  const weights = profiles.get(reader) ?? [];
  const nowUs = s.clock.now();
  const interests = wantInterest ? interestsOf(weights, nowUs, settings.interestHalfLifeUs, settings.interestTopN) : null;
  const prefs = wantPreference ? preferencesOf(weights, nowUs, settings.preferenceHalfLifeUs) : null;
  return (id, activity) => {
    const t = tags.get(id);
    if (interests !== null) activity.interest_score = interestScore(interests, t);
    if (prefs !== null) activity.preference_score = preferenceScore(prefs, t, authorKey(activity.actor));
  };
}
