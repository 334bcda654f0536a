import { usersCollectionsContract } from '../../../test/contract/users-collections.contract.js';
import { SqliteStore } from './sqlite-store.js';

usersCollectionsContract('sqlite', async () => new SqliteStore(':memory:'));
