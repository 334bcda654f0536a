import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pubsubContract } from '../../../test/contract/pubsub.contract.js';
import type { FeedEvent } from '../../ports/pubsub.js';
import { MemoryPubSub } from './memory-pubsub.js';

// One process: both handles are the same pubsub.
pubsubContract('memory', async () => {
  const p = new MemoryPubSub();
  return { a: p, b: p, close: () => p.close() };
});

describe('MemoryPubSub', () => {
  it('reports a subscriber that threw to the publisher, after delivering to the others', async () => {
    const p = new MemoryPubSub();
    const got: string[] = [];
    p.subscribe(() => {
      throw new Error('broken');
    });
    p.subscribe((e) => got.push(e.feed));
    const event: FeedEvent = {
      app: '1',
      feed: 'user:1',
      message: { feed: 'user:1', app_id: '1', new: [], deleted: [], deleted_foreign_ids: [], published_at: '2024-05-01T10:00:00.000000Z' },
    };
    await assert.rejects(p.publish([event]), /broken/);
    assert.deepEqual(got, ['user:1']);
  });
});
