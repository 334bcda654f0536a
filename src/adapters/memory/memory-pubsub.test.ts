import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FeedEvent } from '../../ports/pubsub.js';
import { MemoryPubSub } from './memory-pubsub.js';

const event = (feed: string): FeedEvent => ({
  app: '1',
  feed,
  message: { feed, app_id: '1', new: [], deleted: [], deleted_foreign_ids: [], published_at: '2024-05-01T10:00:00.000000Z' },
});

describe('MemoryPubSub', () => {
  it('counts listeners per feed and per app', () => {
    const p = new MemoryPubSub();
    assert.equal(p.hasWatchers('1'), false);
    p.watch('1', 'user:a');
    p.watch('1', 'user:a');
    assert.equal(p.isWatched('1', 'user:a'), true);
    assert.equal(p.isWatched('2', 'user:a'), false);
    p.unwatch('1', 'user:a');
    assert.equal(p.isWatched('1', 'user:a'), true);
    p.unwatch('1', 'user:a');
    p.unwatch('1', 'user:a'); // one too many: ignored
    assert.equal(p.isWatched('1', 'user:a'), false);
    assert.equal(p.hasWatchers('1'), false);
    p.watch('1', 'user:a');
    assert.equal(p.isWatched('1', 'user:a'), true, 'counting restarts from zero');
  });

  it('delivers events in order to every subscriber until it stops', async () => {
    const p = new MemoryPubSub();
    const got: string[] = [];
    const stop = p.subscribe((e) => got.push(`a:${e.feed}`));
    p.subscribe((e) => got.push(`b:${e.feed}`));
    await p.publish([event('user:1'), event('user:2')]);
    stop();
    await p.publish([event('user:3')]);
    assert.deepEqual(got, ['a:user:1', 'b:user:1', 'a:user:2', 'b:user:2', 'b:user:3']);
  });

  it('still delivers to the others when one subscriber throws, then reports it', async () => {
    const p = new MemoryPubSub();
    const got: string[] = [];
    p.subscribe(() => {
      throw new Error('broken');
    });
    p.subscribe((e) => got.push(e.feed));
    await assert.rejects(p.publish([event('user:1')]), /broken/);
    assert.deepEqual(got, ['user:1']);
  });
});
