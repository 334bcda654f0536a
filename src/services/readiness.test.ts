import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkReadiness, migrationsCheck, workerCheck } from './readiness.js';

describe('checkReadiness', () => {
  it('is ready only when every check passes, and fails a check that does not answer in time', async () => {
    const r = await checkReadiness(
      [
        { name: 'fine', run: () => ({ ok: true }) },
        { name: 'hangs', run: () => new Promise(() => {}) },
      ],
      50,
    );
    assert.equal(r.ready, false);
    assert.deepEqual(r.checks, { fine: { ok: true }, hangs: { ok: false, detail: 'no answer within 50 ms' } });
    assert.equal((await checkReadiness([{ name: 'fine', run: async () => ({ ok: true }) }])).ready, true);
  });

  it('says whether migrations are done, behind, or the data is newer than this version', async () => {
    const check = (applied: number) => migrationsCheck({ migrations: async () => ({ applied, latest: 10 }) })!.run();
    assert.deepEqual(await check(10), { ok: true, detail: '10 of 10 applied' });
    assert.deepEqual(await check(9), { ok: false, detail: '9 of 10 applied' });
    assert.equal((await check(11)).ok, false);
    assert.equal(migrationsCheck({}), null);
  });

  it('expects a running fan-out worker only where one is meant to run', async () => {
    assert.deepEqual(await workerCheck(null, true).run(), { ok: false, detail: 'not running' });
    assert.deepEqual(await workerCheck({ status: () => ({ running: false, failures: 0 }) }, true).run(), { ok: false, detail: 'not running' });
    assert.equal((await workerCheck({ status: () => ({ running: true, failures: 3 }) }, true).run()).ok, true);
    assert.deepEqual(await workerCheck(null, false).run(), { ok: true, detail: 'not run in this process' });
  });
});
