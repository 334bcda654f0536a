import assert from 'node:assert/strict';
import { activityAt, portContract, type PortsFactory } from './ports-support.js';

/** The contract of {@link ActivityStore} (docs/storage-ports.md). */
export function activityStoreContract(adapter: string, makePorts: PortsFactory, skip: Readonly<Record<string, string>> = {}): void {
  portContract('activity store', adapter, makePorts, skip, (test) => {
    test('loads many activities in one call; unknown ids are absent; an upsert keeps the home feed', async (p, app) => {
      const a = activityAt(1, 'user:a');
      const b = activityAt(2, 'user:b');
      await p.intents.commit(app, [{ activity: a }, { activity: b }]);
      await p.intents.commit(app, [{ activity: { ...a, home: 'user:z', body: a.body.replace('"post"', '"edit"') } }]);
      const got = await p.activities.getActivities(app, [a.id, b.id, activityAt(3, 'user:c').id, a.id]);
      assert.deepEqual([...got.keys()].sort(), [a.id, b.id].sort());
      assert.equal(got.get(a.id)?.home, 'user:a');
      assert.match(got.get(a.id)!.body, /"edit"/);
      assert.equal((await p.activities.getActivities('other-app', [a.id])).size, 0);
    });

    test('finds activities by foreign id, newest first', async (p, app) => {
      const a = activityAt(1, 'user:a', { foreignId: 'post:1' });
      const b = activityAt(2, 'user:b', { foreignId: 'post:1' });
      const c = activityAt(3, 'user:b', { foreignId: 'post:2' });
      await p.intents.commit(app, [{ activity: a }, { activity: b }, { activity: c }]);
      assert.deepEqual(await p.activities.idsByForeignId(app, 'post:1'), [b.id, a.id]);
      assert.deepEqual(await p.activities.idsByForeignId(app, 'post:9'), []);
    });

    test('an erase deletes the record for good, and erasing again is no error', async (p, app) => {
      const a = activityAt(1, 'user:a', { foreignId: 'post:1' });
      await p.intents.commit(app, [{ activity: a }]);
      await p.intents.commit(app, [{ erase: [a.id] }]);
      await p.intents.commit(app, [{ erase: [a.id] }]);
      assert.equal((await p.activities.getActivities(app, [a.id])).size, 0);
      assert.deepEqual(await p.activities.idsByForeignId(app, 'post:1'), []);
    });
  });
}
