import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../core/ranking/seeded-random.js';
import { encodeFeatures, hashOf, type NamedFeature } from './features.js';
import { FeatureVector, LogisticHead } from './logistic.js';
import { DEFAULT_OBJECTIVE, PersonalizationModel, valueScore } from './model.js';
import { ALL_GUARDRAILS, byScore, NO_GUARDRAILS, rerank, type RankItem } from './rerank.js';
import { ProgressiveValidation } from './validation.js';

const SMALL = { dims: 1 << 10, learningRate: 0.1, l2: 0 };

function vec(...buckets: number[]): FeatureVector {
  const f = new FeatureVector(2);
  for (const b of buckets) f.push(b, 1);
  return f;
}

describe('logistic head', () => {
  it('learns which feature predicts the label, and its progressive log-loss beats the base rate', () => {
    const head = new LogisticHead(SMALL);
    const v = new ProgressiveValidation(500);
    const rand = seededRandom(1);
    for (let i = 0; i < 5000; i++) {
      const good = rand() < 0.5;
      const y = rand() < (good ? 0.8 : 0.1) ? 1 : 0;
      v.add(head.update(vec(0, good ? 1 : 2), y), y);
    }
    assert.ok(Math.abs(head.predict(vec(0, 1)) - 0.8) < 0.08, String(head.predict(vec(0, 1))));
    assert.ok(Math.abs(head.predict(vec(0, 2)) - 0.1) < 0.05, String(head.predict(vec(0, 2))));
    assert.ok(v.healthy(1000));
    const s = v.summary();
    assert.equal(s.examples, 5000);
    assert.ok(s.recent_log_loss < s.recent_base_log_loss);
    assert.equal(s.calibration.reduce((a, b) => a + b.n, 0), 5000);
  });

  it('refuses dims that are not a power of two', () => {
    assert.throws(() => new LogisticHead({ ...SMALL, dims: 1000 }), /power of two/);
  });

  it('a constant predictor is not healthy', () => {
    const v = new ProgressiveValidation(100);
    for (let i = 0; i < 2000; i++) v.add(0.5, i % 10 === 0 ? 1 : 0);
    assert.equal(v.healthy(1000), false);
  });
});

describe('personalization model', () => {
  it('snapshots to bytes and restores the same predictions; bad bytes are refused', () => {
    const m = new PersonalizationModel(SMALL);
    for (let i = 0; i < 200; i++) m.learn(vec(0, 3 + (i % 5)), i % 3 === 0, i % 7 === 0);
    const bytes = m.snapshot();
    const r = PersonalizationModel.restore(bytes);
    assert.equal(r.updates, 200);
    assert.deepEqual(r.score(vec(0, 4)), m.score(vec(0, 4)));
    assert.throws(() => PersonalizationModel.restore(bytes.subarray(0, 100)), /wrong size|not a/);
    assert.throws(() => PersonalizationModel.restore(Buffer.from('nope')), /not a personalization model/);
  });

  it('value_score weighs the heads by the objective', () => {
    assert.equal(valueScore(DEFAULT_OBJECTIVE, { pEngage: 0.5, pNegative: 0.05 }), 0.5 - 6 * 0.05);
  });
});

describe('features', () => {
  it('are deterministic, namespaced and nameable for explanations', () => {
    const item = { author: 'bob', tags: [{ tag: '#ski', source: 'hashtag' as const, weight: 1 }], timeS: 1000 };
    const sig = { following: true, popularity: 3, interestScore: 0.5, authorAffinity: 1 };
    const a = new FeatureVector();
    const b = new FeatureVector();
    const names: NamedFeature[] = [];
    encodeFeatures(a, hashOf('alice'), 'alice', item, sig, 1000 + 7200, names);
    encodeFeatures(b, hashOf('alice'), 'alice', item, sig, 1000 + 7200);
    assert.deepEqual(a.idx.subarray(0, a.n), b.idx.subarray(0, b.n));
    assert.equal(names.length, a.n);
    assert.deepEqual(names.map((n) => n.bucket | 0), [...a.idx.subarray(0, a.n)], 'each name is the bucket at its place');
    assert.deepEqual(names.map((n) => Math.fround(n.value)), [...a.val.subarray(0, a.n)]);
    const byName = new Map(names.map((n) => [n.name, n]));
    assert.ok(byName.has('tag:#ski') && byName.has('user×tag:alice|#ski') && byName.has('follows:1') && byName.has('age_bucket:1'));
    assert.equal(byName.get('interest_score')?.value, 0.5);
    assert.notEqual(byName.get('tag:#ski')?.bucket, byName.get('author:bob')?.bucket);
    assert.ok(!names.some((n) => n.name.startsWith('negative_rate_bucket:')), 'no exposure given: no negative-rate feature');
    const exposed: NamedFeature[] = [];
    encodeFeatures(new FeatureVector(), hashOf('alice'), 'alice', item, { ...sig, negatives: 0, impressions: 0 }, 1000 + 7200, exposed);
    encodeFeatures(new FeatureVector(), hashOf('alice'), 'alice', item, { ...sig, negatives: 30, impressions: 100 }, 1000 + 7200, exposed);
    assert.deepEqual(exposed.filter((n) => n.name.startsWith('negative_rate_bucket:')).map((n) => n.name), ['negative_rate_bucket:2', 'negative_rate_bucket:8']);
    const c = new FeatureVector();
    encodeFeatures(c, hashOf('carol'), 'carol', item, sig, 1000 + 7200);
    assert.notDeepEqual(c.idx.subarray(0, c.n), a.idx.subarray(0, a.n));
  });
});

function item(key: number, author: string, score: number, extra: Partial<RankItem> = {}): RankItem {
  return { key, author, score, following: true, ageHours: 1, divisiveness: 0, fatigue: 1, impressions: 100, engagements: 10, ...extra };
}

describe('guardrails', () => {
  const off = { ...NO_GUARDRAILS };
  it('without guardrails the order is the score order', () => {
    const items = [item(0, 'a', 1), item(1, 'b', 3), item(2, 'c', 2)];
    assert.deepEqual(rerank(items, off, seededRandom(1)).order, [1, 2, 0]);
  });

  it('caps an author per page and decays their later items', () => {
    const items = Array.from({ length: 40 }, (_, i) => item(i, i < 10 ? 'star' : `x${i}`, i < 10 ? 10 - i * 0.01 : 5 - i * 0.01));
    const g = { ...off, authorCap: 4, authorDecay: 0.8, authorFloor: 0.5, pageSize: 25 };
    const out = rerank(items, g, seededRandom(1), 25);
    const page = out.order.slice(0, 25);
    assert.equal(page.filter((k) => k < 10).length, 4);
    // The second star item is worth 0.8 × 9.99 = 7.99 > 5: still ahead; the third 0.64 × 9.98 = 6.39 too; the fourth 0.512 × 9.97 = 5.1 too.
    assert.deepEqual(page.slice(0, 4), [0, 1, 2, 3]);
    assert.ok(out.effects.get(1)?.some((e) => e.guardrail === 'author_decay'));
  });

  it('fills the following-share and freshness floors from later items', () => {
    const items = Array.from({ length: 60 }, (_, i) => item(i, `a${i}`, 100 - i, { following: i >= 30, ageHours: i >= 55 ? 1 : 20 }));
    const g = { ...off, minFollowingShare: 0.5, minFresh: { count: 3, ageHours: 6 }, pageSize: 25 };
    const page = rerank(items, g, seededRandom(1), 25).order.slice(0, 25);
    assert.ok(page.filter((k) => k >= 30).length >= 13);
    assert.ok(page.filter((k) => k >= 55).length >= 3);
    assert.equal(new Set(page).size, 25);
  });

  it('limits divisive items per page and penalises them', () => {
    const items = Array.from({ length: 50 }, (_, i) => item(i, `a${i}`, (i < 10 ? 1000 : 100) - i, { divisiveness: i < 10 ? 0.9 : 0 }));
    const g = { ...off, divisiveThreshold: 0.6, divisivePenalty: 0.5, divisiveShareMax: 0.1, pageSize: 25 };
    const out = rerank(items, g, seededRandom(1), 25);
    assert.equal(out.order.slice(0, 25).filter((k) => k < 10).length, 2);
    assert.ok(out.effects.get(0)?.some((e) => e.guardrail === 'divisiveness'));
  });

  it('fatigue scales an author down; exploration fills slots with under-exposed items and records the draw', () => {
    const items = Array.from({ length: 60 }, (_, i) => item(i, `a${i}`, 100 - i, { impressions: i >= 30 ? 0 : 100, fatigue: i === 0 ? 0.2 : 1 }));
    const out = rerank(items, { ...ALL_GUARDRAILS, minFollowingShare: 0, minFresh: { count: 0, ageHours: 0 } }, seededRandom(7), 25);
    assert.notEqual(out.order[0], 0);
    assert.equal(out.explore.size, 2);
    for (const [k, e] of out.explore) {
      assert.ok(k >= 30 && e.pool > 0 && e.draw > 0 && e.draw < 1);
      assert.ok(out.order.slice(0, 25).includes(k));
    }
    assert.deepEqual(rerank(items, ALL_GUARDRAILS, seededRandom(7), 25).order, rerank(items, ALL_GUARDRAILS, seededRandom(7), 25).order);
  });

  it('the greedy pass picks what a full scan of every remaining item picks (ties, negative scores, caps, divisive share)', () => {
    // Reference: at each position, the best adjusted score among all remaining items (ties: the earlier item).
    const reference = (items: RankItem[], g: typeof off, depth: number) => {
      const taken = new Set<number>();
      const order: number[] = [];
      let counts = new Map<string, number>();
      let divisive = 0;
      const scaled = (x: number, f: number) => (x >= 0 ? x * f : x / f);
      for (let pos = 0; pos < Math.min(depth, items.length); pos++) {
        if (pos % g.pageSize === 0) {
          counts = new Map();
          divisive = 0;
        }
        let best = -1;
        let bestScore = -Infinity;
        let fallback = -1;
        let fallbackScore = -Infinity;
        items.forEach((it, i) => {
          if (taken.has(i)) return;
          const base = Number.isFinite(it.score) ? it.score : -Infinity;
          const c = counts.get(it.author) ?? 0;
          const s = c === 0 ? base : scaled(base, Math.max(g.authorFloor, g.authorDecay ** c));
          const div = it.divisiveness > g.divisiveThreshold;
          if (c >= g.authorCap || (div && divisive >= Math.floor(g.divisiveShareMax * g.pageSize))) {
            if (fallback < 0 || s > fallbackScore) [fallback, fallbackScore] = [i, s];
          } else if (best < 0 || s > bestScore) [best, bestScore] = [i, s];
        });
        const pick = best >= 0 ? best : fallback;
        taken.add(pick);
        counts.set(items[pick].author, (counts.get(items[pick].author) ?? 0) + 1);
        if (items[pick].divisiveness > g.divisiveThreshold) divisive++;
        order.push(pick);
      }
      return order;
    };
    const r = seededRandom(3);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(r() * 120);
      const authors = 1 + Math.floor(r() * 12);
      const items = Array.from({ length: n }, (_, i) =>
        item(i, `a${Math.floor(r() * authors)}`, r() < 0.05 ? Number.NaN : r() < 0.4 ? Math.round(r() * 4) / 4 - 0.5 : r() * 2 - 1, { divisiveness: r() }),
      );
      const g = { ...off, authorCap: 1 + Math.floor(r() * 4), authorDecay: r(), authorFloor: r() * 0.8, divisiveThreshold: 0.7, divisiveShareMax: 0.1, pageSize: 5 + Math.floor(r() * 20) };
      const depth = Math.floor(r() * 60);
      assert.deepEqual(rerank(items, g, seededRandom(1), depth).order.slice(0, Math.min(depth, n)), reference(items, g, depth));
    }
  });
});

describe('score order', () => {
  it('byScore orders as the comparison does: highest first, equal scores (0 and -0 too) in position order, -Infinity last', () => {
    const rand = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      const n = Math.floor(rand() * 60);
      const base = new Float64Array(n);
      // Few distinct values, so many ties; some zeros of both signs and some -Infinity.
      for (let i = 0; i < n; i++) {
        const r = rand();
        base[i] = r < 0.1 ? -Infinity : r < 0.2 ? 0 : r < 0.3 ? -0 : Math.round((rand() - 0.5) * 8) / 4;
      }
      const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => (base[b] > base[a] ? 1 : base[b] < base[a] ? -1 : a - b));
      assert.deepEqual(byScore(base), expected);
    }
    assert.deepEqual(byScore(new Float64Array([0, -0, 1, -Infinity, 1, 0])), [2, 4, 0, 1, 5, 3]);
    assert.deepEqual(byScore(new Float64Array(0)), []);
  });
});

describe('scoring many candidates', () => {
  it('scoreInto gives each head exactly what its own predict gives, into one reused object', () => {
    const model = new PersonalizationModel(SMALL);
    const rand = seededRandom(3);
    for (let i = 0; i < 2000; i++) model.learn(vec(0, 1 + Math.floor(rand() * 20)), rand() < 0.3, rand() < 0.1);
    const out = { pEngage: 0, pNegative: 0 };
    const f = new FeatureVector();
    for (let i = 0; i < 50; i++) {
      f.clear();
      for (let k = 0; k < 1 + (i % 7); k++) f.push(Math.floor(rand() * 2 ** 31), rand());
      assert.equal(model.scoreInto(f, out), out);
      assert.equal(out.pEngage, model.heads.engage.predict(f));
      assert.equal(out.pNegative, model.heads.negative.predict(f));
      assert.deepEqual(model.score(f), { pEngage: out.pEngage, pNegative: out.pNegative });
    }
  });

  it('encodes the same features for an item whether its tag hashes were kept or not', () => {
    const tags = [{ tag: '#ski', source: 'hashtag' as const, weight: 1 }, { tag: 'img:snow', source: 'image' as const, weight: 0.8 }];
    const sig = { following: true, popularity: 3, interestScore: 0.5, authorAffinity: 0.2, negatives: 1, impressions: 9 };
    const a = new FeatureVector();
    const b = new FeatureVector();
    encodeFeatures(a, hashOf('bob'), 'bob', { author: 'ann', tags, timeS: 1000 }, sig, 5000);
    encodeFeatures(a, hashOf('bob'), 'bob', { author: 'ann', tags, timeS: 1000 }, sig, 5000);
    // A fresh array of the same tags, and the feature names' buckets, agree.
    const names: NamedFeature[] = [];
    encodeFeatures(b, hashOf('bob'), 'bob', { author: 'ann', tags: tags.map((t) => ({ ...t })), timeS: 1000 }, sig, 5000, names);
    assert.deepEqual([...a.idx.subarray(0, a.n)], [...b.idx.subarray(0, b.n)]);
    assert.deepEqual([...a.val.subarray(0, a.n)], [...b.val.subarray(0, b.n)]);
    assert.deepEqual(names.map((n) => n.bucket), [...b.idx.subarray(0, b.n)].map((x) => x >>> 0));
  });
});
