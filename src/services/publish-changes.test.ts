import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPubSub } from '../adapters/memory/memory-pubsub.js';
import type { App, FeedGroup } from '../core/feeds/feed-group.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { FeedEvent } from '../ports/pubsub.js';
import { RealtimePublisher, type ChangedEntry, type ChangeSet, type RealtimeReads } from './publish-changes.js';

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0) * 1000;

function group(name: string, type: FeedGroup['type'], realtime = true): [string, FeedGroup] {
  return [name, { name, type, rankings: new Map(), maxLength: 10_000, maxGroups: 1000, maxGroupActivities: 100, realtime, public: name === 'user', followable: name === 'user' }];
}

const app: App = {
  appId: '1',
  apiKey: 'key',
  apiSecret: 'secret',
  groups: new Map([group('user', 'flat'), group('timeline', 'flat'), group('notification', 'notification'), group('quiet', 'flat', false)]),
};

function activity(n: number, foreignId = ''): ActivityRecord {
  const id = `00000000-0000-1000-8000-${String(n).padStart(12, '0')}`;
  const body = JSON.stringify({ id, actor: 'SU:a', verb: 'post', object: `o:${n}`, target: '', time: '2024-05-01T10:00:00.000000', foreign_id: foreignId });
  return { id, timeUs: T0, foreignId, to: [], body, home: 'user:a' };
}

/** A store that records calls; only what publishing uses is implemented. */
function fakeStore(
  stored: ActivityRecord[] = [],
  opts: { failCommit?: boolean; loadDelayMs?: number[]; pulled?: Record<string, string[]> } = {},
) {
  const calls = { commits: 0, loads: [] as string[][], counts: 0 };
  const byId = new Map(stored.map((a) => [a.id, a]));
  const delays = [...(opts.loadDelayMs ?? [])];
  const commit = async (_app: string, _batch: ChangeSet) => {
    if (opts.failCommit) throw new Error('disk full');
    calls.commits++;
  };
  const reads: RealtimeReads = {
    activities: {
      async getActivities(_app: string, ids: readonly string[]) {
        calls.loads.push([...ids]);
        const delay = delays.shift() ?? 0;
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        return new Map(ids.filter((id) => byId.has(id)).map((id) => [id, byId.get(id)!]));
      },
    },
    follows: {
      async pullServed(_app: string, feeds: readonly string[]) {
        return new Set(feeds.filter((f) => opts.pulled?.[f] !== undefined));
      },
      async followersAmong(_app: string, target: string, candidates: readonly string[]) {
        return (opts.pulled?.[target] ?? []).filter((f) => candidates.includes(f));
      },
    },
    groups: {
      async groupCounts() {
        calls.counts++;
        return { unseen: 3, unread: 2 };
      },
    },
  };
  return { reads, raw: { commit }, calls };
}

function setup(stored: ActivityRecord[] = [], opts: { failCommit?: boolean; loadDelayMs?: number[]; pulled?: Record<string, string[]> } = {}) {
  const pubsub = new MemoryPubSub();
  const events: FeedEvent[] = [];
  pubsub.subscribe((e) => events.push(e));
  const errors: unknown[] = [];
  const fake = fakeStore(stored, opts);
  const realtime = new RealtimePublisher(fake.reads, { pubsub, apps: new Map([['1', app]]), clock: { nowUs: () => T0 }, onError: (e: unknown) => errors.push(e) });
  // What the use cases do: write, then the publishing step (write-step.ts publish()).
  const store = {
    commit: async (appId: string, batch: ChangeSet) => {
      await fake.raw.commit(appId, batch);
      await realtime.committed(appId, batch);
    },
  };
  return { pubsub, events, errors, store, raw: fake.raw, calls: fake.calls };
}

const entry = (feed: string, a: ActivityRecord, origin: string | null = null): ChangedEntry => ({ feed, id: a.id, origin });

describe('RealtimePublisher', () => {
  it('costs nothing beyond the listener check when nobody listens: 100,000 follower entries', async () => {
    const { store, calls, events, pubsub } = setup([activity(1)]);
    pubsub.watch('2', 'user:x'); // someone listens in another app
    const a = activity(1);
    const entries: ChangedEntry[] = [];
    for (let i = 0; i < 100_000; i++) entries.push(entry(`timeline:f${i}`, a, 'user:a'));
    await store.commit('1', { entries });
    assert.equal(calls.commits, 1);
    assert.deepEqual(calls.loads, []);
    assert.deepEqual(events, []);
  });

  it('publishes one event per listened feed, loading missing bodies in one batch', async () => {
    const a1 = activity(1);
    const a2 = activity(2, 'post:2');
    const { store, calls, events, pubsub } = setup([a1, a2]);
    pubsub.watch('1', 'timeline:bob');
    const entries = [entry('timeline:bob', a1, 'user:a'), entry('timeline:carl', a1, 'user:a')];
    await store.commit('1', { entries, removals: [{ feed: 'timeline:bob', ids: [a2.id], origin: 'user:a' }] });
    assert.deepEqual(calls.loads, [[a1.id, a2.id]]);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], {
      app: '1',
      feed: 'timeline:bob',
      message: {
        feed: 'timeline:bob',
        app_id: '1',
        new: [{ origin: 'user:a', ...JSON.parse(a1.body) }],
        deleted: [a2.id],
        deleted_foreign_ids: [['post:2', '2024-05-01T10:00:00.000000']],
        published_at: '2024-05-01T10:00:00.000000Z',
      },
    });
  });

  it('uses the bodies in the batch without loading them', async () => {
    const a1 = activity(1);
    const { store, calls, events, pubsub } = setup();
    pubsub.watch('1', 'user:a');
    await store.commit('1', { activities: [a1], entries: [entry('user:a', a1)] });
    assert.deepEqual(calls.loads, []);
    assert.equal(events[0].message.new[0].id, a1.id);
    assert.equal(events[0].message.new[0].origin, null);
  });

  it('adds group keys, marks and counts on notification feeds', async () => {
    const a1 = activity(1);
    const { store, events, pubsub } = setup([a1]);
    pubsub.watch('1', 'notification:n');
    const placed: ChangedEntry = { ...entry('notification:n', a1), group: { key: 'post_o:1' } };
    await store.commit('1', { entries: [placed] });
    await store.commit('1', { marks: [{ feed: 'notification:n', seen: ['g1'], read: ['g2'] }] });
    await store.commit('1', { marks: [{ feed: 'notification:n', seen: 'all' }] });
    assert.equal(events.length, 3);
    assert.equal(events[0].message.new[0].group, 'post_o:1');
    assert.equal(events[0].message.unseen, 3);
    assert.equal(events[0].message.unread, 2);
    assert.deepEqual(events[1].message.mark_seen, ['g1', 'g2'], 'read implies seen');
    assert.deepEqual(events[1].message.mark_read, ['g2']);
    assert.deepEqual(events[1].message.new, []);
    assert.equal(events[2].message.mark_seen, 'all');
    assert.equal(events[2].message.mark_read, undefined);
  });

  it('skips groups with realtime off', async () => {
    const a1 = activity(1);
    const { store, calls, events, pubsub } = setup([a1]);
    pubsub.watch('1', 'quiet:q');
    pubsub.watch('1', 'timeline:t');
    await store.commit('1', { entries: [entry('quiet:q', a1)] });
    assert.deepEqual(calls.loads, []);
    assert.deepEqual(events, []);
  });

  it('publishes in commit order even when an earlier commit loads slower', async () => {
    const a1 = activity(1);
    const a2 = activity(2);
    const { store, events, pubsub } = setup([a1, a2], { loadDelayMs: [30, 0] });
    pubsub.watch('1', 'timeline:t');
    await Promise.all([
      store.commit('1', { entries: [entry('timeline:t', a1, 'user:a')] }),
      store.commit('1', { entries: [entry('timeline:t', a2, 'user:a')] }),
    ]);
    assert.deepEqual(
      events.map((e) => e.message.new[0].id),
      [a1.id, a2.id],
    );
  });

  it('reports a publishing failure without failing the commit', async () => {
    const a1 = activity(1);
    const { store, errors, pubsub } = setup([a1]);
    pubsub.subscribe(() => {
      throw new Error('socket gone');
    });
    pubsub.watch('1', 'user:a');
    await store.commit('1', { entries: [entry('user:a', a1)] });
    assert.equal(errors.length, 1);
  });

  it('publishes nothing when the commit fails', async () => {
    const a1 = activity(1);
    const { store, events, pubsub } = setup([a1], { failCommit: true });
    pubsub.watch('1', 'user:a');
    await assert.rejects(store.commit('1', { entries: [entry('user:a', a1)] }), /disk full/);
    assert.deepEqual(events, []);
  });

  it('announces direct writes to a pull-served feed on its listened flat followers', async () => {
    const a = activity(1);
    const { store, events, pubsub } = setup([a], { pulled: { 'user:celeb': ['timeline:fan', 'timeline:quiet'] } });
    pubsub.watch('1', 'timeline:fan');
    const celeb: ActivityRecord = { ...a, home: 'user:celeb' };
    await store.commit('1', { activities: [celeb], entries: [entry('user:celeb', a)] });
    assert.deepEqual(events.map((e) => [e.feed, e.message.new.map((x) => [x.id, x.origin])]), [['timeline:fan', [[a.id, 'user:celeb']]]]);
    await store.commit('1', { removals: [{ feed: 'user:celeb', ids: [a.id], origin: null }] });
    assert.deepEqual(events.slice(1).map((e) => [e.feed, e.message.deleted]), [['timeline:fan', [a.id]]]);
  });
});
