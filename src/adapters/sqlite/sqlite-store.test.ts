import { storeContract } from '../../../test/contract/store.contract.js';
import { SqliteStore } from './sqlite-store.js';

storeContract('sqlite', async () => new SqliteStore(':memory:'));
