import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { ImageLabeler } from '../ports/image-labeler.js';
import { EVENT_BATCH } from '../services/personalization/runtime.js';
import { SignalWorker, type SignalWorkerDeps } from './signal-worker.js';

// The signal worker's rounds: which wake-ups run content jobs and which step the learner.

/** Services that count the worker's content-job looks and learner steps (nothing queued, nothing to learn). */
function counting(stepAnswers: number[] = []) {
  const n = { contentLooks: 0, steps: 0 };
  const services = {
    ports: {},
    clock: { now: () => 1_000_000 },
    signalStore: {
      pendingContentJobs: async () => {
        n.contentLooks++;
        return [];
      },
    },
    personalization: {
      step: async () => {
        n.steps++;
        return stepAnswers.shift() ?? 0;
      },
    },
  } as unknown as SignalWorkerDeps;
  const worker = new SignalWorker(() => services, ['app'], pino({ level: 'silent' }), { pollMs: 1e9, labeler: () => ({}) as ImageLabeler });
  return { n, worker };
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
}

describe('signal worker', () => {
  it('learns logged events in one step however many wake-ups announced them, without looking for content jobs', async () => {
    const { n, worker } = counting();
    worker.start();
    await until(() => n.steps === 1);
    assert.equal(n.contentLooks, 1, 'the first round does both');
    for (let i = 0; i < 100; i++) worker.wakeLearner();
    await until(() => n.steps === 2);
    await worker.stop(); // a last step, for the snapshot
    assert.equal(n.steps, 3);
    assert.equal(n.contentLooks, 1);
  });

  it('steps again at once while the learner reads full batches, and stops when one is not', async () => {
    const { n, worker } = counting([EVENT_BATCH, EVENT_BATCH, 7]);
    worker.start();
    await until(() => n.steps === 3);
    await worker.stop();
    assert.equal(n.steps, 4, 'three rounds, then the snapshot step at stop');
    assert.equal(n.contentLooks, 3);
  });

  it('runs content jobs once for a burst of wake-ups', async () => {
    const { n, worker } = counting();
    worker.start();
    await until(() => n.contentLooks === 1);
    for (let i = 0; i < 100; i++) worker.wake();
    await until(() => n.contentLooks === 2);
    await worker.stop();
    assert.equal(n.contentLooks, 2);
  });

  it('drainAll learns at once, whenever the last step was', async () => {
    const { n, worker } = counting();
    await worker.drainAll();
    await worker.drainAll();
    assert.equal(n.steps, 2);
    assert.equal(n.contentLooks, 2);
  });
});
