import { activityStoreContract } from '../../../test/contract/activity-store.contract.js';
import { followStoreContract } from '../../../test/contract/follow-store.contract.js';
import { groupStoreContract } from '../../../test/contract/group-store.contract.js';
import { intentQueueContract } from '../../../test/contract/intent-queue.contract.js';
import { reactionStoreContract } from '../../../test/contract/reaction-store.contract.js';
import { timelineStoreContract } from '../../../test/contract/timeline-store.contract.js';
import { userStoreContract } from '../../../test/contract/user-store.contract.js';
import { collectionStoreContract } from '../../../test/contract/collection-store.contract.js';
import type { PortsFactory } from '../../../test/contract/ports-support.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SqliteStore } from './sqlite-store.js';

/** The SQLite store runs every case of every storage port's contract (no skip list). */
const sqlite: PortsFactory = async () => {
  const store = new SqliteStore(':memory:');
  return { ports: store.ports, close: () => store.close() };
};

intentQueueContract('sqlite', sqlite);
activityStoreContract('sqlite', sqlite);
timelineStoreContract('sqlite', sqlite);
groupStoreContract('sqlite', sqlite);
followStoreContract('sqlite', sqlite);

// Over a file, every write goes through the writer thread while the reads stay here (what the
// main thread keeps of the follow graph must follow the thread's writes).
const dir = mkdtempSync(join(tmpdir(), 'rivulet-ports-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const threaded: PortsFactory = async () => {
  const store = new SqliteStore(join(dir, `db${++files}.sqlite`), { writer: 'thread' });
  return { ports: store.ports, close: () => store.close() };
};
followStoreContract('sqlite (writer thread)', threaded);
reactionStoreContract('sqlite', sqlite);
userStoreContract('sqlite', sqlite);
collectionStoreContract('sqlite', sqlite);
