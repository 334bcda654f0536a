/**
 * Offline metrics of the evaluation harness (personalization.md §11.3), per request and averaged.
 */

/** What one ranked request contributes, from the policy's order and the planted truth. */
export interface RequestOutcome {
  /** Ranked candidates (post indices), best first; at least the top 25 are read. */
  readonly ranked: readonly number[];
  readonly label: (post: number) => boolean;
  readonly positives: number;
  readonly controversial: (post: number) => boolean;
  readonly satisfaction: (post: number) => number;
  readonly author: (post: number) => number;
  /** Distinct authors in the candidate pool. */
  readonly poolAuthors: number;
}

export interface Metrics {
  readonly ndcg_at_10: number;
  readonly recall_at_25: number;
  readonly controversy_at_25: number;
  readonly satisfaction_at_25: number;
  readonly author_share_at_25: number;
  readonly author_share_at_25_worst: number;
  /** Requests where one author holds more than 6 of the 25 while ≥ 10 authors are in the pool. */
  readonly requests_over_6_of_25: number;
  readonly item_coverage: number;
  readonly author_coverage: number;
}

const LOG2 = Array.from({ length: 64 }, (_, i) => 1 / Math.log2(i + 2));

/** Accumulates the metrics of one policy over a run. */
export class MetricsAccumulator {
  private ndcg = 0;
  private recall = 0;
  private withPositives = 0;
  private controversy = 0;
  private satisfaction = 0;
  private authorShare = 0;
  private authorWorst = 0;
  private over6 = 0;
  private requests = 0;
  private readonly items = new Set<number>();
  private readonly authors = new Set<number>();

  add(o: RequestOutcome): void {
    const top10 = Math.min(10, o.ranked.length);
    const top25 = Math.min(25, o.ranked.length);
    this.requests++;
    if (o.positives > 0) {
      let dcg = 0;
      for (let i = 0; i < top10; i++) if (o.label(o.ranked[i])) dcg += LOG2[i];
      let ideal = 0;
      for (let i = 0; i < Math.min(10, o.positives); i++) ideal += LOG2[i];
      this.ndcg += dcg / ideal;
      let hits = 0;
      for (let i = 0; i < top25; i++) if (o.label(o.ranked[i])) hits++;
      this.recall += hits / Math.min(25, o.positives);
      this.withPositives++;
    }
    if (top25 === 0) return;
    let controversial = 0;
    let sat = 0;
    const perAuthor = new Map<number, number>();
    let largest = 0;
    for (let i = 0; i < top25; i++) {
      const p = o.ranked[i];
      if (o.controversial(p)) controversial++;
      sat += o.satisfaction(p);
      const a = o.author(p);
      const n = (perAuthor.get(a) ?? 0) + 1;
      perAuthor.set(a, n);
      if (n > largest) largest = n;
      this.items.add(p);
      this.authors.add(a);
    }
    this.controversy += controversial / top25;
    this.satisfaction += sat / top25;
    const share = largest / top25;
    this.authorShare += share;
    if (share > this.authorWorst) this.authorWorst = share;
    if (largest > 6 && o.poolAuthors >= 10) this.over6++;
  }

  /** The averages; coverage against the distinct items and authors of every candidate set. */
  result(poolItems: number, poolAuthors: number): Metrics {
    const n = Math.max(1, this.requests);
    const k = Math.max(1, this.withPositives);
    return {
      ndcg_at_10: this.ndcg / k,
      recall_at_25: this.recall / k,
      controversy_at_25: this.controversy / n,
      satisfaction_at_25: this.satisfaction / n,
      author_share_at_25: this.authorShare / n,
      author_share_at_25_worst: this.authorWorst,
      requests_over_6_of_25: this.over6,
      item_coverage: poolItems === 0 ? 0 : this.items.size / poolItems,
      author_coverage: poolAuthors === 0 ? 0 : this.authors.size / poolAuthors,
    };
  }
}
