/**
 * What an event does to its user's profile (personalization.md §2.2, §5). Pure: the caller passes
 * the activity's tags and author as they are when the event is taken.
 *
 * | kind | computed interests and author affinity | explicit preferences |
 * | --- | --- | --- |
 * | `engage`, `long_dwell` | + weight × tag weight; author + weight | — |
 * | `negative` | − weight × tag weight; author − weight | − weight (not for `skip`, which is implicit) |
 * | `stated` | — | + weight (a negative label weight, e.g. `unsatisfied`, subtracts) |
 * | `impression` | — | — |
 */
import type { ContentTag } from '../../ports/content-tag-store.js';
import type { EventKind } from '../../ports/event-log.js';
import type { ProfileChange } from '../../ports/profile-store.js';
import type { SignalSettings } from './settings.js';

/** Negative labels that say nothing explicit about preference. */
const IMPLICIT_NEGATIVES = new Set(['skip']);

export interface EffectInput {
  readonly user: string;
  readonly kind: EventKind;
  readonly label: string;
  /** The event's weight (importance × label weight). */
  readonly weight: number;
  readonly tags: readonly ContentTag[];
  readonly author: string | null;
  readonly atUs: number;
}

/**
 * The profile changes of one event.
 * @example effectsOf({ user: 'u', kind: 'engage', label: 'like', weight: 2, tags: [{ tag: '#ski', source: 'hashtag', weight: 1 }], author: 'bob', atUs: 0 }, DEFAULT_SIGNALS)
 *   // [add tag #ski +2 computed, add author bob +2 computed]
 */
export function effectsOf(e: EffectInput, settings: Pick<SignalSettings, 'interestHalfLifeUs' | 'preferenceHalfLifeUs'>): ProfileChange[] {
  const out: ProfileChange[] = [];
  const add = (source: 'computed' | 'preference', sign: number) => {
    const halfLifeUs = source === 'computed' ? settings.interestHalfLifeUs : settings.preferenceHalfLifeUs;
    for (const t of e.tags) {
      const delta = sign * e.weight * t.weight;
      if (delta !== 0) out.push({ op: 'add', user: e.user, dimension: 'tag', key: t.tag, source, delta, atUs: e.atUs, halfLifeUs });
    }
    if (e.author !== null && e.weight !== 0) out.push({ op: 'add', user: e.user, dimension: 'author', key: e.author, source, delta: sign * e.weight, atUs: e.atUs, halfLifeUs });
  };
  switch (e.kind) {
    case 'engage':
    case 'long_dwell':
      add('computed', 1);
      break;
    case 'negative':
      add('computed', -1);
      if (!IMPLICIT_NEGATIVES.has(e.label)) add('preference', -1);
      break;
    case 'stated':
      add('preference', 1);
      break;
    case 'impression':
      break;
  }
  return out;
}
