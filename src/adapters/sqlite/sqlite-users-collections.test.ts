import { usersCollectionsContract } from '../../../test/contract/users-collections.contract.js';
import { SqliteStore } from './sqlite-store.js';

usersCollectionsContract('sqlite', async () => {
  const store = new SqliteStore(':memory:');
  return { ...store.ports.users, ...store.ports.collections, close: () => store.close() };
});
