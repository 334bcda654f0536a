import { auditLogContract } from '../../../test/contract/audit-log.contract.js';
import { fileIndexContract } from '../../../test/contract/file-index.contract.js';
import { flagStoreContract } from '../../../test/contract/flag-store.contract.js';
import { userDataContract } from '../../../test/contract/user-data.contract.js';
import { sqliteRecords } from './sqlite-records.js';
import { SqliteStore } from './sqlite-store.js';

function open() {
  const store = new SqliteStore(':memory:');
  return { store, records: sqliteRecords(store), close: () => store.close() };
}

fileIndexContract('sqlite', async () => {
  const o = open();
  return { index: o.records.files, close: o.close };
});
flagStoreContract('sqlite', async () => {
  const o = open();
  return { flags: o.records.flags, close: o.close };
});
auditLogContract('sqlite', async () => {
  const o = open();
  return { audit: o.records.audit, close: o.close };
});
userDataContract('sqlite', async () => {
  const o = open();
  return { index: o.records.userData, ports: o.store.ports, close: o.close };
});
