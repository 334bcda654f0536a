import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProfileWeight } from '../../ports/profile-store.js';
import { DAY_US, decayedAdd, decayFactor } from './decay.js';
import { effectsOf } from './effects.js';
import { eventWeight, ruleOf } from './importance.js';
import { authorKey, interestScore, interestsOf, preferenceScore, preferencesOf } from './interest.js';
import { DEFAULT_SIGNALS } from './settings.js';

const tag = (key: string, weight: number, source: ProfileWeight['source'] = 'computed', updatedUs = 0): ProfileWeight => ({ dimension: 'tag', key, source, weight, updatedUs });
const tags = (...names: string[]) => names.map((t) => ({ tag: t, source: 'hashtag' as const, weight: 1 }));

describe('decay', () => {
  it('halves per half-life and adds late changes at their own age', () => {
    assert.equal(decayFactor(0, DAY_US, DAY_US), 0.5);
    assert.equal(decayFactor(DAY_US, 0, DAY_US), 1);
    assert.deepEqual(decayedAdd(4, 0, 1, 2 * DAY_US, DAY_US), { weight: 2, updatedUs: 2 * DAY_US });
    assert.deepEqual(decayedAdd(1, DAY_US, 2, 0, DAY_US), { weight: 2, updatedUs: DAY_US });
  });
});

describe('interest_score (Stream v3)', () => {
  it('scales computed interests so the strongest is 1 and adds half a weight per matching tag, clamped', () => {
    const i = interestsOf([tag('#ski', 4), tag('#snow', 2), tag('#food', -8)], 0, 30 * DAY_US, 5);
    assert.deepEqual([...i], [['#ski', 1], ['#snow', 0.5], ['#food', -1]]);
    assert.equal(interestScore(i, tags('#ski')), 0.5);
    assert.equal(interestScore(i, tags('#ski', '#snow')), 0.75);
    assert.equal(interestScore(i, tags('#food')), -0.5);
    assert.equal(interestScore(i, tags('#other')), 0);
    assert.equal(interestScore(i, undefined), 0);
    const strong = interestsOf([tag('a', 1), tag('b', 1), tag('c', 1)], 0, DAY_US, 5);
    assert.equal(interestScore(strong, tags('a', 'b', 'c')), 1, 'clamped to 1');
  });

  it('keeps only the top N, manual interests over computed ones, negative manual ones always', () => {
    const w = [tag('a', 5), tag('b', 4), tag('c', 3), tag('d', 2), tag('e', 1), tag('f', 0.5), tag('b', 0.2, 'manual'), tag('z', -0.7, 'manual')];
    const i = interestsOf(w, 0, DAY_US, 3);
    assert.deepEqual([...i], [['a', 1], ['c', 0.6], ['d', 0.4], ['z', -0.7]]);
  });

  it('decays computed interests with time but not manual ones', () => {
    const i = interestsOf([tag('old', 4, 'computed', 0), tag('new', 1, 'computed', 60 * DAY_US), tag('m', 0.3, 'manual', 0)], 60 * DAY_US, 30 * DAY_US, 5);
    assert.deepEqual([...i], [['new', 1], ['old', 1], ['m', 0.3]]);
  });
});

describe('preference_score', () => {
  it('adds half of each matching tag preference and the author preference, squashed and clamped', () => {
    const prefs = preferencesOf(
      [
        { dimension: 'tag', key: '#ski', source: 'preference', weight: 1, updatedUs: 0 },
        { dimension: 'author', key: 'bob', source: 'preference', weight: -2, updatedUs: 0 },
        tag('#ignored', 5),
      ],
      0,
      DAY_US,
    );
    assert.equal(prefs.tags.size, 1);
    assert.ok(Math.abs(preferenceScore(prefs, tags('#ski'), null) - Math.tanh(1) / 2) < 1e-12);
    assert.ok(Math.abs(preferenceScore(prefs, [], 'bob') - Math.tanh(-2)) < 1e-12);
    assert.equal(preferenceScore(prefs, tags('#other'), 'carol'), 0);
    assert.equal(authorKey('SU:bob'), 'bob');
    assert.equal(authorKey('bob'), 'bob');
    assert.equal(authorKey(undefined), null);
  });
});

describe('event effects', () => {
  const at = { user: 'u', tags: [{ tag: '#ski', source: 'hashtag' as const, weight: 1 }, { tag: 'kw:powder', source: 'keyword' as const, weight: 0.5 }], author: 'bob', atUs: 7 };
  const summary = (c: ReturnType<typeof effectsOf>) => c.map((x) => (x.op === 'add' ? `${x.source}:${x.dimension}:${x.key}:${x.delta}` : x.op));

  it('weights events by label, score and boost', () => {
    assert.equal(eventWeight(ruleOf(DEFAULT_SIGNALS, 'like'), undefined, undefined), 2);
    assert.equal(eventWeight(ruleOf(DEFAULT_SIGNALS, 'click'), 50, 2), 10);
    assert.equal(eventWeight(ruleOf(DEFAULT_SIGNALS, 'click'), 0, undefined), 0.1);
    assert.deepEqual(ruleOf(DEFAULT_SIGNALS, 'unknown-label'), { kind: 'engage', weight: 1 });
    assert.deepEqual(ruleOf(DEFAULT_SIGNALS, 'show_more'), { kind: 'stated', weight: 1 });
  });

  it('moves interests and affinity for engagement, both profiles down for explicit negatives, preferences for stated', () => {
    assert.deepEqual(summary(effectsOf({ ...at, kind: 'engage', label: 'like', weight: 2 }, DEFAULT_SIGNALS)), ['computed:tag:#ski:2', 'computed:tag:kw:powder:1', 'computed:author:bob:2']);
    assert.deepEqual(summary(effectsOf({ ...at, kind: 'negative', label: 'hide', weight: 1 }, DEFAULT_SIGNALS)), [
      'computed:tag:#ski:-1',
      'computed:tag:kw:powder:-0.5',
      'computed:author:bob:-1',
      'preference:tag:#ski:-1',
      'preference:tag:kw:powder:-0.5',
      'preference:author:bob:-1',
    ]);
    assert.equal(summary(effectsOf({ ...at, kind: 'negative', label: 'skip', weight: 1 }, DEFAULT_SIGNALS)).length, 3, 'a skip is not a stated preference');
    assert.deepEqual(summary(effectsOf({ ...at, kind: 'stated', label: 'show_more', weight: 1 }, DEFAULT_SIGNALS)), ['preference:tag:#ski:1', 'preference:tag:kw:powder:0.5', 'preference:author:bob:1']);
    assert.deepEqual(effectsOf({ ...at, kind: 'impression', label: 'impression', weight: 1 }, DEFAULT_SIGNALS), []);
  });
});

describe('interest_score over many candidates', () => {
  it('matches a plain lookup of each tag among the interests, for any tags and interests', () => {
    const rand = (() => {
      let x = 7;
      return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    })();
    const pool = Array.from({ length: 40 }, (_, i) => `#t${i}`);
    for (let round = 0; round < 200; round++) {
      const interests = new Map<string, number>();
      for (let k = 0; k < 1 + (round % 6); k++) interests.set(pool[Math.floor(rand() * pool.length)], Math.round((rand() * 2 - 1) * 100) / 100);
      const list = tags(...Array.from({ length: round % 5 }, () => pool[Math.floor(rand() * pool.length)]));
      let sum = 0;
      for (const t of list) sum += (interests.get(t.tag) ?? 0) / 2;
      assert.equal(interestScore(interests, list), Math.max(-1, Math.min(1, sum)));
    }
  });
});
