import { modelStoreContract } from '../../../test/contract/model-store.contract.js';
import { MemoryModelStore } from '../memory/memory-model-store.js';
import { SqliteDatabase } from './database.js';
import { SqliteModelStore } from './sqlite-model-store.js';

modelStoreContract('sqlite', async () => {
  const d = new SqliteDatabase(':memory:');
  return { models: new SqliteModelStore(d), close: async () => d.close() };
});

modelStoreContract('memory', async () => ({ models: new MemoryModelStore(), close: async () => {} }));
