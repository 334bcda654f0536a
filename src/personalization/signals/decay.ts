/**
 * Lazy exponential decay of profile weights (personalization.md §5): a weight is stored with the
 * time it was written and halves every `halfLifeUs`; nothing sweeps. Pure functions.
 */

/** The factor a weight written at `fromUs` keeps at `toUs`: 0.5^((to − from) / halfLife); 1 when `to ≤ from`. */
export function decayFactor(fromUs: number, toUs: number, halfLifeUs: number): number {
  if (!(halfLifeUs > 0) || !Number.isFinite(halfLifeUs) || toUs <= fromUs) return 1;
  return Math.pow(0.5, (toUs - fromUs) / halfLifeUs);
}

/** A stored weight as seen at `atUs`. */
export function decayedWeight(weight: number, updatedUs: number, atUs: number, halfLifeUs: number): number {
  return weight * decayFactor(updatedUs, atUs, halfLifeUs);
}

/**
 * Adds `delta`, happening at `atUs`, to a weight stored as (`weight`, `updatedUs`). The result is
 * kept at the later of the two times, so an event that arrives late (an older `tracked_at`) adds
 * its own decayed share instead of refreshing older weight.
 *
 * @example decayedAdd(2, 0, 1, DAY, DAY) // { weight: 2, updatedUs: DAY }: 2 halves to 1, plus 1
 */
export function decayedAdd(weight: number, updatedUs: number, delta: number, atUs: number, halfLifeUs: number): { weight: number; updatedUs: number } {
  if (atUs >= updatedUs) return { weight: decayedWeight(weight, updatedUs, atUs, halfLifeUs) + delta, updatedUs: atUs };
  return { weight: weight + delta * decayFactor(atUs, updatedUs, halfLifeUs), updatedUs };
}

export const DAY_US = 86_400_000_000;
