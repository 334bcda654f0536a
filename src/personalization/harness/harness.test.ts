import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate } from './evaluate.js';
import { generate, SMOKE_CONFIG, topDecileFollowShare } from './generator.js';
import { MetricsAccumulator } from './metrics.js';
import { learnedPolicies } from './learned.js';
import { harnessPolicies } from './policies.js';
import { hashUniform, Rng } from './random.js';

describe('harness metrics', () => {
  it('NDCG@10, recall@25, controversy, satisfaction and author share of a known ranking', () => {
    const acc = new MetricsAccumulator();
    // Positives 1 and 3 of candidates 0..29; ranked 0,1,2,3,...: hits at positions 1 and 3.
    const ranked = Array.from({ length: 30 }, (_, i) => i);
    acc.add({
      ranked,
      label: (p) => p === 1 || p === 3,
      positives: 2,
      controversial: (p) => p < 5,
      satisfaction: (p) => (p < 25 ? 1 : -1),
      author: (p) => (p < 10 ? 0 : p),
      poolAuthors: 21,
    });
    const m = acc.result(30, 21);
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    const ideal = 1 + 1 / Math.log2(3);
    assert.ok(Math.abs(m.ndcg_at_10 - dcg / ideal) < 1e-12);
    assert.equal(m.recall_at_25, 1);
    assert.equal(m.controversy_at_25, 5 / 25);
    assert.equal(m.satisfaction_at_25, 1);
    assert.equal(m.author_share_at_25, 10 / 25);
    assert.equal(m.requests_over_6_of_25, 1);
    assert.equal(m.item_coverage, 25 / 30);
    assert.equal(m.author_coverage, 16 / 21);
  });

  it('a request without positives counts for exposure metrics only', () => {
    const acc = new MetricsAccumulator();
    acc.add({ ranked: [0, 1], label: () => false, positives: 0, controversial: () => true, satisfaction: () => 0, author: () => 0, poolAuthors: 1 });
    const m = acc.result(2, 1);
    assert.equal(m.ndcg_at_10, 0);
    assert.equal(m.controversy_at_25, 1);
  });
});

describe('harness randomness', () => {
  it('streams are reproducible and independent; the label hash is uniform-ish', () => {
    assert.deepEqual([new Rng(7, 'a').next(), new Rng(7, 'a').next()], [new Rng(7, 'a').next(), new Rng(7, 'a').next()]);
    assert.notEqual(new Rng(7, 'a').next(), new Rng(7, 'b').next());
    let sum = 0;
    for (let i = 0; i < 10_000; i++) sum += hashUniform(42, i, i % 7, 3);
    assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
    assert.notEqual(hashUniform(42, 1, 2, 3), hashUniform(42, 1, 2, 4));
  });
});

describe('harness on the smoke world (generator v1)', () => {
  const world = generate(SMOKE_CONFIG, 42);
  const result = evaluate(SMOKE_CONFIG, 42, [...harnessPolicies(), ...learnedPolicies()], world);

  it('passes the generator sanity checks', () => {
    for (const s of result.sanity) assert.ok(s.ok, `${s.check}: ${s.detail}`);
    assert.ok(result.sanity.length >= 6);
    assert.equal(result.world.top_decile_follow_share, Number(topDecileFollowShare(world).toPrecision(6)));
  });

  it('builds the world the protocol describes', () => {
    assert.equal(world.users.length, SMOKE_CONFIG.users);
    assert.equal(world.requests.length, SMOKE_CONFIG.users * SMOKE_CONFIG.testDays);
    for (const p of world.posts.slice(1)) assert.ok(p.id > world.posts[p.index - 1].id, 'ids are in time order');
    for (const r of world.requests.slice(0, 50)) {
      assert.ok(r.candidates.length <= SMOKE_CONFIG.candidates);
      assert.equal(new Set(r.candidates).size, r.candidates.length);
      for (const i of r.candidates) {
        const age = r.time - world.posts[i].time;
        assert.ok(age >= 0 && age <= SMOKE_CONFIG.windowHours * 3600);
      }
    }
  });

  it('is deterministic: the same seed gives byte-identical results, another seed different ones', () => {
    const tiny = { ...SMOKE_CONFIG, users: 80, days: 4 };
    const once = JSON.stringify(evaluate(tiny, 42, [...harnessPolicies(), ...learnedPolicies()]));
    assert.equal(JSON.stringify(evaluate(tiny, 42, [...harnessPolicies(), ...learnedPolicies()])), once);
    assert.notEqual(JSON.stringify(evaluate(tiny, 1, harnessPolicies()).policies), JSON.stringify(JSON.parse(once).policies));
  });

  it('stream_interest and the learned ranker rank well above chronological; the learned one shows less controversy (loose margins)', () => {
    const m = result.policies;
    // About 2.6× and 2.5× on this world.
    assert.ok(m.stream_interest.ndcg_at_10 >= 1.5 * m.chronological.ndcg_at_10, JSON.stringify(result.ratios.stream_interest));
    assert.ok(m.learned.ndcg_at_10 >= 1.5 * m.chronological.ndcg_at_10, JSON.stringify(result.ratios.learned));
    // About 0.55× chronological and 0.4× engagement-only.
    assert.ok(m.learned.controversy_at_25 <= m.chronological.controversy_at_25, JSON.stringify(result.ratios.learned));
    assert.ok(m.learned.controversy_at_25 < m.engagement_only.controversy_at_25, JSON.stringify(result.ratios.learned));
    assert.ok(result.targets !== undefined && result.targets.length >= 10);
  });
});
