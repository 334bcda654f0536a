import assert from 'node:assert/strict';
import { ConflictError, StaleWriteError } from '../../src/core/errors.js';
import type { ReactionRecord } from '../../src/ports/reaction-store.js';
import { activityAt, portContract, T0, type PortsFactory } from './ports-support.js';

/** The contract of {@link IntentQueue} (docs/storage-ports.md): atomic steps and the intents they queue. */
/** Waits `ms` of real time: leases are measured by the store's clock, which a test cannot move. */
const pass = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function intentQueueContract(adapter: string, makePorts: PortsFactory, skip: Readonly<Record<string, string>> = {}): void {
  portContract('intent queue', adapter, makePorts, skip, (test) => {
    test('a step writes the activity together with its intent; a claimed intent leaves the queue once completed', async (p, app) => {
      const before = await p.intents.pendingCount();
      const act = activityAt(1, 'user:a');
      const [step] = await p.intents.commit(app, [{ activity: act, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [act.id], mode: 'queued' }] }]);
      assert.equal(step.intents.length, 1);
      assert.equal(step.intents[0].app, app);
      assert.deepEqual(step.intents[0].ids, [act.id]);
      assert.equal((await p.activities.getActivities(app, [act.id])).get(act.id)?.body, act.body);
      assert.equal(await p.intents.pendingCount(), before + 1);
      const now = Date.now();
      const claimed = (await p.intents.claim(100, 30_000, now)).filter((i) => i.app === app);
      assert.deepEqual(claimed.map((i) => i.id), [step.intents[0].id]);
      assert.equal(claimed[0].cursor, null);
      assert.equal(claimed[0].attempts, 0);
      await p.intents.complete([claimed[0].id]);
      await p.intents.complete([claimed[0].id, 'no-such-intent']); // idempotent
      assert.equal(await p.intents.pendingCount(), before);
    });

    test('an inline intent goes to a worker only once its lease ran out (its writer died)', async (p, app) => {
      const act = activityAt(2, 'user:a');
      const [step] = await p.intents.commit(app, [{ activity: act, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [act.id], mode: 'inline' }] }]);
      const id = step.intents[0].id;
      assert.ok(!(await p.intents.claim(100, 60_000, Date.now())).some((i) => i.id === id));
      // Leases are measured by the store's clock: a claim with a lease of 20 ms, 40 ms later.
      await pass(40);
      const late = (await p.intents.claim(100, 20, Date.now())).filter((i) => i.id === id);
      assert.equal(late.length, 1);
      assert.equal(late[0].mode, 'inline');
      await p.intents.complete([id]);
    });

    test('a released inline intent is queued at once; releasing it again, once claimed, or an unknown id changes nothing', async (p, app) => {
      const act = activityAt(9, 'user:a');
      const [step] = await p.intents.commit(app, [{ activity: act, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [act.id], mode: 'inline' }] }]);
      const id = step.intents[0].id;
      const before = await p.intents.pendingCount();
      await p.intents.release([id]);
      await p.intents.release([id, 'no-such-intent']);
      assert.equal(await p.intents.pendingCount(), before, 'still one intent');
      const now = Date.now();
      const claimed = (await p.intents.claim(100, 60_000, now)).filter((i) => i.id === id);
      assert.deepEqual(claimed.map((i) => [i.mode, i.ids, i.cursor]), [['queued', [act.id], null]], 'claimable at once, as queued');
      await p.intents.release([id]);
      assert.ok(!(await p.intents.claim(100, 60_000, now + 1)).some((i) => i.id === id), 'the claim still holds its lease');
      await p.intents.complete([id]);
      await p.intents.release([id]);
      assert.equal(await p.intents.pendingCount(), before - 1);
    });

    test('a claim holds a lease: the intent is not handed out again until it ends; progress renews it or hands it back', async (p, app) => {
      const act = activityAt(3, 'user:a');
      const [step] = await p.intents.commit(app, [{ activity: act, intents: [{ kind: 'fanout.remove', source: 'user:a', ids: [act.id], mode: 'queued' }] }]);
      const id = step.intents[0].id;
      assert.ok((await p.intents.claim(100, 60_000, Date.now())).some((i) => i.id === id));
      assert.ok(!(await p.intents.claim(100, 60_000, Date.now())).some((i) => i.id === id));
      // A lease ends when the claim made no progress for the claimer's `leaseMs` (store's clock).
      await pass(1200);
      await p.intents.progress([{ id, cursor: 'c1' }]);
      assert.ok(!(await p.intents.claim(100, 1000, Date.now())).some((i) => i.id === id), 'renewed by the progress');
      await pass(40);
      const again = (await p.intents.claim(100, 20, Date.now())).find((i) => i.id === id);
      assert.equal(again?.cursor, 'c1');
      // Handed back (shutdown): claimable at once, whatever the lease, with its cursor.
      await p.intents.progress([{ id, cursor: 'c2' }], true);
      const back = (await p.intents.claim(100, 60_000, Date.now())).find((i) => i.id === id);
      assert.equal(back?.cursor, 'c2');
      assert.ok(!(await p.intents.claim(100, 60_000, Date.now())).some((i) => i.id === id), 'the new claim holds its lease');
      await p.intents.complete([id]);
    });

    test('a claim returns at most `limit` intents; those left over are handed out by the next claims, each once', async (p, app) => {
      const acts = Array.from({ length: 40 }, (_, i) => activityAt(100 + i, 'user:a'));
      const steps = await p.intents.commit(app, acts.map((act) => ({ activity: act, intents: [{ kind: 'fanout.add' as const, source: 'user:a', ids: [act.id], mode: 'queued' as const }] })));
      const ids = new Set(steps.map((s) => s.intents[0].id));
      const seen: string[] = [];
      for (let round = 0; round < 100 && seen.length < ids.size; round++) {
        const got = await p.intents.claim(3, 60_000, Date.now());
        assert.ok(got.length <= 3, `${got.length} intents for a limit of 3`);
        const mine = got.filter((i) => ids.has(i.id));
        seen.push(...mine.map((i) => i.id));
        await p.intents.complete(mine.map((i) => i.id));
      }
      assert.equal(seen.length, ids.size);
      assert.equal(new Set(seen).size, ids.size, 'none twice');
    });

    test('a failed intent is retried later, then dead-lettered with its error, and can be put back', async (p, app) => {
      const act = activityAt(4, 'user:a');
      const [step] = await p.intents.commit(app, [{ activity: act, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [act.id], mode: 'queued' }] }]);
      const id = step.intents[0].id;
      const now = Date.now();
      await p.intents.claim(100, 1000, now);
      await p.intents.failed(id, 'boom', now + 5000, now);
      assert.ok(!(await p.intents.claim(100, 1000, now + 10)).some((i) => i.id === id));
      const retried = (await p.intents.claim(100, 1000, now + 6000)).find((i) => i.id === id);
      assert.equal(retried?.attempts, 1);
      const dead = await p.intents.deadLetterCount();
      await p.intents.failed(id, 'boom again', null, now + 7000);
      await p.intents.failed(id, 'boom again', null, now + 7000); // twice: moved once
      assert.equal(await p.intents.deadLetterCount(), dead + 1);
      const letter = (await p.intents.deadLetters(1000)).find((l) => l.id === id);
      assert.equal(letter?.error, 'boom again');
      assert.equal(letter?.attempts, 2);
      assert.equal(await p.intents.requeueDeadLetters([id, 'no-such-intent']), 1);
      const back = (await p.intents.claim(100, 1000, now + 8000)).find((i) => i.id === id);
      assert.equal(back?.attempts, 0);
      await p.intents.complete([id]);
    });

    test('pending lists the waiting intents oldest first, with cursor and attempts, and takes no lease', async (p, app) => {
      // Intents other cases left waiting are older still: only this app's are looked at.
      const mine = async () => (await p.intents.pending(1000)).filter((i) => i.app === app);
      const [a, b] = [activityAt(6, 'user:a'), activityAt(7, 'user:a')];
      const t0 = Date.now();
      const [first] = await p.intents.commit(app, [{ activity: a, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [a.id], mode: 'queued' }] }]);
      await new Promise((r) => setTimeout(r, 5));
      const t1 = Date.now();
      const [second] = await p.intents.commit(app, [{ activity: b, intents: [{ kind: 'fanout.remove', source: 'user:a', ids: [b.id], mode: 'inline' }] }]);
      const ids = [first.intents[0].id, second.intents[0].id];
      let list = await mine();
      assert.deepEqual(list.map((i) => [i.id, i.kind, i.mode, i.cursor, i.attempts]), [
        [ids[0], 'fanout.add', 'queued', null, 0],
        [ids[1], 'fanout.remove', 'inline', null, 0],
      ]);
      assert.ok(list[0].queuedAt !== null && list[0].queuedAt >= t0 && list[0].queuedAt <= t1, `queued at ${list[0].queuedAt}`);
      assert.ok(list[1].queuedAt !== null && list[1].queuedAt >= t1);
      assert.equal((await p.intents.pending(1)).length, 1);
      // Listing took no lease: a claim still gets the queued one; its progress and failures show.
      const now = Date.now();
      assert.ok((await p.intents.claim(100, 30_000, now)).some((i) => i.id === ids[0]));
      await p.intents.progress([{ id: ids[0], cursor: 'c9' }]);
      await p.intents.failed(ids[0], 'boom', now + 60_000, now);
      list = await mine();
      assert.deepEqual(list.map((i) => [i.id, i.cursor, i.attempts]), [[ids[0], 'c9', 1], [ids[1], null, 0]]);
      // Completed and dead-lettered intents are not waiting.
      await p.intents.complete([ids[0]]);
      assert.deepEqual((await mine()).map((i) => i.id), [ids[1]]);
      await p.intents.failed(ids[1], 'boom', null, Date.now());
      assert.deepEqual(await mine(), []);
    });

    test('a step that adds an existing reaction fails with a conflict and writes nothing of itself', async (p, app) => {
      const act = activityAt(5, 'user:a');
      const like = (id: string, data = '{}'): ReactionRecord => ({
        id,
        kind: 'like',
        activityId: act.id,
        userId: 'bob',
        parent: '',
        depth: 1,
        data,
        targetFeeds: [],
        createdUs: T0,
        updatedUs: T0,
        deletedUs: null,
      });
      await p.intents.commit(app, [{ activity: act }, { reactions: { add: [like('r1')] } }]);
      await assert.rejects(p.intents.commit(app, [{ reactions: { add: [like('r1', '{"again":1}')] }, intents: [{ kind: 'fanout.add', source: 'user:b', ids: [act.id], mode: 'queued' }] }]), ConflictError);
      assert.equal((await p.reactions.getReactions(app, ['r1'])).get('r1')?.data, '{}');
      assert.deepEqual((await p.reactions.reactionCounts(app, [act.id], 'activity')).get(act.id), { like: 1 });
      assert.ok(!(await p.intents.claim(1000, 1000, Date.now())).some((i) => i.app === app && i.source === 'user:b'));
    });

    test('a checked reaction step whose reads went stale fails with a StaleWriteError and writes nothing of itself', async (p, app) => {
      const act = activityAt(6, 'user:a');
      const r = (id: string, parent: ReactionRecord | null, userId = 'bob'): ReactionRecord => ({
        id,
        kind: parent ? 'reply' : 'comment',
        activityId: act.id,
        userId,
        parent: parent?.id ?? '',
        depth: parent ? parent.depth + 1 : 1,
        data: '{}',
        targetFeeds: [],
        createdUs: T0,
        updatedUs: T0,
        deletedUs: null,
      });
      const top = r('top', null);
      const kid = r('kid', top);
      await p.intents.commit(app, [{ activity: act }, { reactions: { add: [top, kid], checked: true } }]);
      // A parent added earlier in the same step counts; one removed since the caller read it does not.
      const gone = r('gone', null);
      await p.intents.commit(app, [{ reactions: { add: [gone] } }]);
      await p.intents.commit(app, [{ reactions: { remove: [gone] } }]);
      await assert.rejects(p.intents.commit(app, [{ reactions: { add: [r('orphan', gone)], checked: true } }]), StaleWriteError);
      assert.equal((await p.reactions.getReactions(app, ['orphan'], true)).size, 0);
      // An import adds a child before its parent: unchecked, that is allowed.
      await p.intents.commit(app, [{ reactions: { add: [r('early', r('later', null))] } }]);
      assert.equal((await p.reactions.getReactions(app, ['early'])).size, 1);
      // An update of a reaction removed since it was read.
      await assert.rejects(p.intents.commit(app, [{ reactions: { update: [{ ...gone, data: '{"x":1}' }], checked: true } }]), StaleWriteError);
      assert.equal((await p.reactions.getReactions(app, ['gone'], true)).size, 0);
      // A removal that does not list a stored child (added after the caller listed the descendants)
      // removes nothing; listing it too removes both.
      const late = r('late', top, 'carol');
      await p.intents.commit(app, [{ reactions: { add: [late] } }]);
      await assert.rejects(p.intents.commit(app, [{ reactions: { remove: [kid, top], checked: true } }]), StaleWriteError);
      assert.deepEqual([...(await p.reactions.getReactions(app, ['top', 'kid', 'late'])).keys()].sort(), ['kid', 'late', 'top']);
      assert.deepEqual((await p.reactions.reactionCounts(app, ['top'], 'reaction')).get('top'), { reply: 2 });
      await p.intents.commit(app, [{ reactions: { remove: [late, kid, top], checked: true } }]);
      assert.equal((await p.reactions.getReactions(app, ['top', 'kid', 'late'], true)).size, 0);
      assert.deepEqual((await p.reactions.reactionCounts(app, [act.id], 'activity')).get(act.id), { comment: 0 });
      // Soft-deleted after the caller read it visible: the removal does not uncount it again.
      const [one, two] = [r('one', null), r('two', null)];
      await p.intents.commit(app, [{ reactions: { add: [one, two] } }]);
      await p.intents.commit(app, [{ reactions: { softDelete: [{ reaction: one, deletedUs: T0 + 1 }] } }]);
      await p.intents.commit(app, [{ reactions: { remove: [one], checked: true } }]);
      assert.deepEqual((await p.reactions.reactionCounts(app, [act.id], 'activity')).get(act.id), { comment: 1 });
    });

    test('an activity step naming the body it was made from is refused, with its intents, once another write changed that body', async (p, app) => {
      const act = activityAt(1, 'user:a');
      const missing = activityAt(2, 'user:a');
      await p.intents.commit(app, [{ activity: act }]);
      // Made from the stored body: written.
      const first = { ...act, body: act.body.replace('}', ',"n":1}') };
      await p.intents.commit(app, [{ activity: first, expectBody: act.body }]);
      // Made from the body before that write: refused, nothing of it applied.
      const stale = { ...act, body: act.body.replace('}', ',"m":1}') };
      await assert.rejects(
        p.intents.commit(app, [{ activity: stale, expectBody: act.body, intents: [{ kind: 'fanout.add', source: 'user:stale', ids: [act.id], mode: 'queued' }] }]),
        ConflictError,
      );
      // An activity that is not stored has no body to match.
      await assert.rejects(p.intents.commit(app, [{ activity: missing, expectBody: missing.body }]), ConflictError);
      const stored = await p.activities.getActivities(app, [act.id, missing.id]);
      assert.equal(stored.get(act.id)?.body, first.body);
      assert.equal(stored.has(missing.id), false);
      assert.ok(!(await p.intents.claim(1000, 1000, Date.now())).some((i) => i.app === app && i.source === 'user:stale'));
    });

    test('follow and unfollow steps: a re-follow keeps the first edge', async (p, app) => {
      await p.intents.commit(app, [{ follow: { source: 'timeline:b', target: 'user:a', createdUs: 10, grouped: false, since: null } }]);
      await p.intents.commit(app, [{ follow: { source: 'timeline:b', target: 'user:a', createdUs: 20, grouped: false, since: null } }]);
      assert.deepEqual(await p.follows.followers(app, 'user:a', 10, 0), [{ source: 'timeline:b', target: 'user:a', createdUs: 10 }]);
      await p.intents.commit(app, [{ unfollow: { source: 'timeline:b', target: 'user:a' } }]);
      await p.intents.commit(app, [{ unfollow: { source: 'timeline:b', target: 'user:a' } }]);
      assert.deepEqual(await p.follows.followers(app, 'user:a', 10, 0), []);
    });
  });
}
