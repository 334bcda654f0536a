/**
 * Rows moved per `entries` page rewrite when recent timeline entries are merged (see
 * SqliteTimelines): the suite's fan-out deliveries (5,000 posts, seed 42) replayed through two
 * policies, counting one page rewrite per feed per merge. `pass`: once `at` rows wait, every feed's
 * rows move (the feed-order passes of mergeStep); `densest`: once `at` rows wait, the feeds with the
 * most rows move until `keep` rows are left. Usage: node --import tsx merge-amortization.ts
 */
import { drawWorkload, loadGraph } from '../../graph.js';

for (const name of ['wiki-vote', 'slashdot'] as const) {
  const g = loadGraph(name);
  const w = drawWorkload(g, 5000, 42);
  const deliveries: number[] = [];
  for (const a of w.authors) for (const u of g.followers(a)) deliveries.push(u);
  const policies: [string, number, number][] = [['pass', 16_000, 0], ['pass', 64_000, 0], ['densest', 16_000, 8_000], ['densest', 16_000, 12_000]];
  for (const [policy, at, keep] of policies) {
    const recent = new Map<number, number>();
    let rows = 0;
    let rewrites = 0;
    let merged = 0;
    for (const u of deliveries) {
      recent.set(u, (recent.get(u) ?? 0) + 1);
      rows++;
      if (rows < at) continue;
      if (policy === 'pass') {
        rewrites += recent.size;
        merged += rows;
        recent.clear();
        rows = 0;
        continue;
      }
      for (const [f, n] of [...recent].sort((a, b) => b[1] - a[1])) {
        if (rows <= keep) break;
        recent.delete(f);
        rows -= n;
        merged += n;
        rewrites++;
      }
    }
    console.log(`${g.title} ${policy} at ${at}${keep > 0 ? ` keep ${keep}` : ''}: ${(merged / rewrites).toFixed(2)} rows per page rewrite`);
  }
}
