/**
 * Event importance (personalization.md §2.1): `clamp(score / 10, 0.1, 10) × (boost or 1)`, times
 * the label's weight. Without a score the importance is the boost alone.
 */
import type { LabelRule, SignalSettings } from './settings.js';

/** The rule of a label: the app's map, else `engage` with weight 1. */
export function ruleOf(settings: Pick<SignalSettings, 'labels'>, label: string): LabelRule {
  return settings.labels.get(label) ?? { kind: 'engage', weight: 1 };
}

/** The weight of an event with this label, `score` (0–100) and `boost`. */
export function eventWeight(rule: LabelRule, score: number | undefined, boost: number | undefined): number {
  const importance = (score === undefined ? 1 : Math.min(10, Math.max(0.1, score / 10))) * (boost ?? 1);
  return importance * rule.weight;
}
