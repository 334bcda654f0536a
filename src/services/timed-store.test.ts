import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DurationRecorder, Metrics } from '../ports/metrics.js';
import type { Store } from '../ports/store.js';
import { timeStore } from './timed-store.js';

/** A metrics port that keeps every call. */
function recordingMetrics() {
  const calls: { method: string; seconds: number; failed: boolean }[] = [];
  const lags: { kind: string; seconds: number }[] = [];
  const resolved: string[] = [];
  const m = {
    storeMethod(name: string): DurationRecorder {
      resolved.push(name);
      return { observe: (seconds, failed) => calls.push({ method: name, seconds, failed }) };
    },
    fanoutApplied: (kind: string, seconds: number) => lags.push({ kind, seconds }),
  } as unknown as Metrics;
  return { m, calls, lags, resolved };
}

/** A store-shaped class with private state, like the real adapters. */
class FakeStore {
  #marks = 0;
  #swept = 0;
  async sweepActivities(_app: string, _after: string | null, limit: number) {
    if (limit < 0) throw new Error('disk full');
    this.#swept += limit;
    this.#marks++;
    return { next: null, examined: limit, deleted: this.#swept };
  }
  async migrations() {
    return { applied: 1, latest: 1 };
  }
  changeMark() {
    return String(this.#marks);
  }
  async close() {}
}

describe('timeStore', () => {
  it('passes the sub-stores a store carries as properties through (the signal store)', async () => {
    const signals = { recordSignals: async () => {} };
    const store = Object.assign(new FakeStore(), { signals });
    const timed = timeStore(store as unknown as Store, recordingMetrics().m) as unknown as { signals: unknown };
    assert.equal(timed.signals, signals);
  });

  it('times each call by method, counts failures, and keeps the store\'s private state working', async () => {
    const { m, calls, resolved } = recordingMetrics();
    const raw = new FakeStore();
    const store = timeStore(raw as unknown as Store, m);
    assert.deepEqual(await store.migrations!(), { applied: 1, latest: 1 });
    assert.equal((await store.sweepActivities!('a', null, 2, 0, 0)).deleted, 2);
    await assert.rejects(store.sweepActivities!('a', null, -1, 0, 0), /disk full/);
    assert.deepEqual(
      calls.map((c) => [c.method, c.failed]),
      [
        ['sweepActivities', false],
        ['sweepActivities', true],
      ],
    );
    assert.ok(calls.every((c) => c.seconds >= 0));
    // Resolved once per method, at wrapping time; the read cache's check and lifecycle are not timed.
    assert.ok(!resolved.includes('changeMark') && !resolved.includes('close') && !resolved.includes('migrations'));
    assert.equal(store.changeMark!(), '1');
    assert.equal(calls.length, 2);
  });

  it('times the storage ports\' calls as <port>.<method>', async () => {
    const { m, calls } = recordingMetrics();
    class Scans {
      readonly #rows = [{ id: 'a', origin: null }];
      async scan() {
        return this.#rows;
      }
    }
    const store = Object.assign(new FakeStore(), { ports: { timelines: new Scans() } });
    const timed = timeStore(store as unknown as Store, m);
    assert.deepEqual(await (timed.ports.timelines as unknown as Scans).scan(), [{ id: 'a', origin: null }]);
    assert.deepEqual(calls.map((c) => [c.method, c.failed]), [['timelines.scan', false]]);
  });
});
