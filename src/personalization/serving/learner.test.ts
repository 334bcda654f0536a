import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ItemFacts, PairSignals } from '../model/features.js';
import { Learner, type LearnEvent } from './learner.js';
import { SignalState } from './signal-state.js';

const HEAD = { dims: 1 << 10, learningRate: 0.1, l2: 0 };
const S = 1e6;

function facts(): Map<string, ItemFacts> {
  return new Map<string, ItemFacts>([
    ['a1', { author: 'ann', timeS: 100, tags: [{ tag: '#ski', source: 'hashtag', weight: 1 }] }],
    ['a2', { author: 'bob', timeS: 100, tags: [{ tag: '#vote', source: 'hashtag', weight: 1 }] }],
  ]);
}
const none = (): PairSignals => ({ following: false, popularity: 0, interestScore: 0, authorAffinity: 0 });

describe('learner', () => {
  it('labels an impression by its engagement at once, and closes the join window of the others as negatives', () => {
    const l = Learner.create(HEAD, 60);
    let seq = 0;
    const ev = (user: string, kind: LearnEvent['kind'], activity: string, t: number, label = kind as string): LearnEvent => ({ seq: ++seq, user, kind, label, activity, weight: 1, trackedUs: t * S });
    l.observe([ev('u', 'impression', 'a1', 200), ev('u', 'impression', 'a2', 200)], facts(), none);
    assert.equal(l.stats().pending, 2);
    assert.equal(l.model.updates, 0);
    l.observe([ev('u', 'engage', 'a1', 210, 'click')], facts(), none);
    assert.equal(l.model.updates, 1, 'the engagement labelled its impression');
    assert.equal(l.stats().pending, 1);
    assert.equal(l.expire(230 * S), 0, 'still inside the window');
    assert.equal(l.expire(261 * S), 1);
    assert.equal(l.model.updates, 2);
    // An engagement without a logged impression is an example of its own; a replayed seq is skipped.
    l.observe([ev('v', 'engage', 'a2', 300, 'like')], facts(), none);
    assert.equal(l.model.updates, 3);
    l.observe([{ seq: 1, user: 'u', kind: 'engage', label: 'click', activity: 'a1', weight: 1, trackedUs: 0 }], facts(), none);
    assert.equal(l.model.updates, 3);
    assert.equal(l.seq, seq);
    assert.equal(l.state.items.get('a1')?.impressions, 1);
    assert.equal(l.state.seenCount('u', 'a2'), 1);
  });

  it('restores from its bytes with the same predictions, state, pending impressions and health', () => {
    const l = Learner.create(HEAD, 60);
    const events: LearnEvent[] = [];
    for (let i = 0; i < 300; i++) {
      const a = i % 2 === 0 ? 'a1' : 'a2';
      events.push({ seq: events.length + 1, user: `u${i}`, kind: 'impression', label: 'impression', activity: a, weight: 1, trackedUs: 200 * S });
      events.push({ seq: events.length + 1, user: `u${i}`, kind: a === 'a1' ? 'engage' : 'negative', label: a === 'a1' ? 'click' : 'hide', activity: a, weight: 1, trackedUs: 201 * S });
    }
    events.push({ seq: events.length + 1, user: 'late', kind: 'impression', label: 'impression', activity: 'a1', weight: 1, trackedUs: 400 * S });
    l.observe(events, facts(), none);
    assert.ok(l.model.healthy(100));
    const r = Learner.restore(l.model.snapshot(), l.stateBytes());
    assert.equal(r.seq, l.seq);
    assert.deepEqual(r.stats(), l.stats());
    assert.ok(r.model.healthy(100), 'validation sums survive');
    assert.deepEqual(r.model.health(), l.model.health());
    assert.equal(r.state.items.get('a1')?.engagements, 150);
    assert.equal(r.expire(10_000 * S), 1, 'the pending impression came along');
  });
});

describe('signal state', () => {
  it('finds popular, tagged, co-engaged and under-exposed activities inside their windows', () => {
    const s = new SignalState();
    const tag = (t: string) => [{ tag: t, source: 'hashtag' as const, weight: 1 }];
    s.noteItem('old', 'x', 0, tag('#ski'));
    s.noteItem('p1', 'x', 1000, tag('#ski'));
    s.noteItem('p2', 'y', 1000, tag('#jazz'));
    s.noteItem('p3', 'z', 1000, tag('#ski'));
    for (let i = 0; i < 3; i++) s.engage(`u${i}`, 'p1', 1, 1100);
    s.engage('u0', 'p2', 1, 1200);
    s.engage('u1', 'old', 1, 1200);
    assert.deepEqual(s.popular(2000, 1500, 10, 1).map((x) => x.id), ['p1', 'p2']);
    assert.deepEqual(s.popular(2000, 1500, 10, 2).map((x) => x.id), ['p1']);
    assert.deepEqual(s.byTags(new Map([['#ski', 1]]), 2000, 1500, 10).map((x) => x.id).sort(), ['p1', 'p3']);
    s.engage('u9', 'p1', 1, 1300);
    assert.deepEqual(s.similar('u9', 2000, 1500, 10).map((x) => x.id), ['p2'], 'u0 engaged with p1 and p2, so p2 neighbours p1');
    assert.deepEqual(s.similar('u2', 2000, 1500, 10).map((x) => x.id), ['p2']);
    assert.deepEqual(s.similar('nobody', 2000, 1500, 10), []);
    s.impression('u0', 'p1');
    assert.deepEqual(s.explore(2000, 1500, 2).map((x) => x.id).sort(), ['p2', 'p3'], 'fewest impressions first');
    s.negative('u0', 'p2', 'block');
    assert.ok(s.blocked.get('u0')?.has('y'));
    s.prune(2000, 1500);
    assert.equal(s.items.has('old'), false);
    const copy = SignalState.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    assert.deepEqual(copy.byTags(new Map([['#ski', 1]]), 2000, 1500, 10), s.byTags(new Map([['#ski', 1]]), 2000, 1500, 10));
    assert.deepEqual(copy.toJSON(), s.toJSON());
  });
});
