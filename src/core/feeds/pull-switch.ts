/**
 * The switch between push and pull serving (DESIGN.md, fan-out strategy). A feed is served by
 * push (its activities copied into follower feeds) until its follower count passes a configured
 * threshold; from then on it is served by pull (follower reads merge its entries in), for good:
 * switching back would mean copying the feed into every follower again.
 */

/**
 * Whether a feed that has `followers` followers after a follow becomes pull-served. `threshold`
 * undefined: never. An already pull-served feed stays so (the answer is then `false`: nothing
 * to record). Idempotent: a replayed follow sees the same count and decides the same.
 * @example becomesPullServed(10_001, 10_000, false) // true
 */
export function becomesPullServed(followers: number, threshold: number | undefined, already: boolean): boolean {
  return !already && threshold !== undefined && followers > threshold;
}

/**
 * Which followers an add from `source` must reach: all of them when the source is push-served;
 * when it is pull-served, only aggregated and notification followers (their groups are built at
 * write time), or none when the app has no grouped feed types. Removals always reach every
 * follower, since copies pushed before the switch may exist.
 */
export function addReach(pullServed: boolean, appHasGroupedTypes: boolean): 'all' | 'grouped' | 'none' {
  if (!pullServed) return 'all';
  return appHasGroupedTypes ? 'grouped' : 'none';
}
