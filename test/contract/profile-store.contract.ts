import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { DAY_US } from '../../src/personalization/signals/decay.js';
import type { ProfileChange } from '../../src/ports/profile-store.js';
import { event, suite, type SignalBackend } from './signal-support.js';

/** The {@link ProfileStore} contract: decayed adds, sets, removes, batch reads per user. */
export function profileStoreContract(name: string, makeStore: () => Promise<SignalBackend>, skip: Record<string, string> = {}): void {
  describe(`profile store contract: ${name}`, () => {
    const { store, app, test } = suite(makeStore, skip);
    const add = (user: string, key: string, delta: number, atUs: number, dimension: 'tag' | 'author' = 'tag'): ProfileChange => ({
      op: 'add',
      user,
      dimension,
      key,
      source: 'computed',
      delta,
      atUs,
      halfLifeUs: DAY_US,
    });

    test('adds decay the stored weight to the time of the change', async () => {
      await store().signals.recordSignals(app(), { profile: [add('u1', '#ski', 4, 0)] });
      await store().signals.recordSignals(app(), { profile: [add('u1', '#ski', 1, DAY_US)] });
      const [w] = (await store().signals.profilesOf(app(), ['u1'])).get('u1')!;
      assert.equal(w.key, '#ski');
      assert.ok(Math.abs(w.weight - 3) < 1e-9, `4 halves to 2 over a half-life, plus 1: ${w.weight}`);
      assert.equal(w.updatedUs, DAY_US);
    });

    test('a late change adds its own decayed share and keeps the newer time', async () => {
      await store().signals.recordSignals(app(), { profile: [add('u1', '#ski', 1, DAY_US), add('u1', '#ski', 2, 0)] });
      const [w] = (await store().signals.profilesOf(app(), ['u1'])).get('u1')!;
      assert.ok(Math.abs(w.weight - 2) < 1e-9);
      assert.equal(w.updatedUs, DAY_US);
    });

    test("the effects of many events in one write add up as they do written one by one, out of order too", async () => {
      const times = [0, DAY_US, DAY_US / 2, 3 * DAY_US, 2 * DAY_US];
      const effects = (i: number, user: string) => [add(user, '#ski', i + 1, times[i]), add(user, 'bob', 1, times[i], 'author'), add(user, `#only${i}`, 1, times[i])];
      const write = (i: number, user: string) => ({
        event: event(user, 'like', { trackedUs: times[i], receivedUs: times[i] }),
        dedupeKey: `${user}:${i}`,
        dedupeUntilUs: 10 * DAY_US,
        effects: effects(i, user),
      });
      await store().signals.recordSignals(app(), { events: times.map((_, i) => write(i, 'together')) });
      for (let i = 0; i < times.length; i++) await store().signals.recordSignals(app(), { events: [write(i, 'apart')] });
      // A retried event in the batch changes nothing.
      await store().signals.recordSignals(app(), { events: [write(0, 'together'), write(1, 'together')] });
      const profiles = await store().signals.profilesOf(app(), ['together', 'apart']);
      const byKey = (u: string) => new Map(profiles.get(u)!.map((w) => [`${w.dimension}:${w.key}`, w]));
      const together = byKey('together');
      const apart = byKey('apart');
      assert.equal(together.size, apart.size);
      for (const [k, w] of apart) {
        const t = together.get(k)!;
        assert.ok(Math.abs(t.weight - w.weight) < 1e-9, `${k}: ${t.weight} vs ${w.weight}`);
        assert.equal(t.updatedUs, w.updatedUs, k);
      }
      assert.ok(Math.abs(together.get('tag:#ski')!.weight - apart.get('tag:#ski')!.weight) < 1e-9);
    });

    test('reads many users in one call, by source', async () => {
      await store().signals.recordSignals(app(), {
        profile: [
          add('u1', '#a', 1, 0),
          add('u1', 'bob', 1, 0, 'author'),
          add('u2', '#b', 1, 0),
          { op: 'set', user: 'u2', dimension: 'tag', key: '#m', source: 'manual', weight: -0.5, atUs: 0 },
        ],
      });
      const all = await store().signals.profilesOf(app(), ['u1', 'u2', 'nobody']);
      assert.equal(all.size, 2);
      assert.deepEqual(all.get('u1')!.map((w) => `${w.dimension}:${w.key}`).sort(), ['author:bob', 'tag:#a']);
      const manual = await store().signals.profilesOf(app(), ['u2'], ['manual']);
      assert.deepEqual(manual.get('u2')!.map((w) => [w.key, w.weight]), [['#m', -0.5]]);
    });

    test('set replaces, remove deletes one key or a whole source', async () => {
      const set = (key: string, weight: number): ProfileChange => ({ op: 'set', user: 'u1', dimension: 'tag', key, source: 'manual', weight, atUs: 5 });
      await store().signals.recordSignals(app(), { profile: [set('#a', 0.5), set('#a', 0.9), set('#b', 1), add('u1', '#c', 1, 0)] });
      let p = (await store().signals.profilesOf(app(), ['u1'], ['manual'])).get('u1')!;
      assert.deepEqual(p.map((w) => [w.key, w.weight]).sort(), [['#a', 0.9], ['#b', 1]]);
      await store().signals.recordSignals(app(), { profile: [{ op: 'remove', user: 'u1', dimension: 'tag', source: 'manual', key: '#a' }] });
      p = (await store().signals.profilesOf(app(), ['u1'], ['manual'])).get('u1')!;
      assert.deepEqual(p.map((w) => w.key), ['#b']);
      await store().signals.recordSignals(app(), { profile: [{ op: 'remove', user: 'u1', dimension: 'tag', source: 'manual' }] });
      assert.equal((await store().signals.profilesOf(app(), ['u1'], ['manual'])).get('u1'), undefined);
      assert.equal((await store().signals.profilesOf(app(), ['u1'])).get('u1')!.length, 1, 'computed weights stay');
    });
  });
}
