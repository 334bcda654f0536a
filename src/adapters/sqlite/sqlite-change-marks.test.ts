import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeMarksContract, portWriteMarksContract } from '../../../test/contract/change-marks.contract.js';
import { SqliteChangeMarks } from './sqlite-change-marks.js';
import { SqliteStore } from './sqlite-store.js';

// Two stores over one file stand for two processes (`serve --workers`, a separate worker).
changeMarksContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-marks-'));
  const a = new SqliteStore(join(dir, 'db'));
  const b = new SqliteStore(join(dir, 'db'));
  // Few marks kept, so the test runs past them quickly.
  return {
    a: new SqliteChangeMarks(a.database, 64),
    b: new SqliteChangeMarks(b.database, 64),
    keep: 64,
    close: async () => {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

portWriteMarksContract('sqlite', async () => {
  const store = new SqliteStore(':memory:');
  return { ports: store.ports, changes: store.changes, close: () => store.close() };
});
