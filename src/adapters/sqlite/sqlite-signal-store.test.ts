import { contentTagStoreContract } from '../../../test/contract/content-tag-store.contract.js';
import { eventLogContract } from '../../../test/contract/event-log.contract.js';
import { profileStoreContract } from '../../../test/contract/profile-store.contract.js';
import { seenStoreContract } from '../../../test/contract/seen-store.contract.js';
import { SqliteStore } from './sqlite-store.js';

const open = async () => new SqliteStore(':memory:');
eventLogContract('sqlite', open);
profileStoreContract('sqlite', open);
contentTagStoreContract('sqlite', open);
seenStoreContract('sqlite', open);
