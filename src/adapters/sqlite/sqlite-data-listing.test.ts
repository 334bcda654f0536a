import { dataListingContract } from '../../../test/contract/data-listing.contract.js';
import { openListing } from '../../compose/adapters.js';
import { SqliteStore } from './sqlite-store.js';

dataListingContract('sqlite', async () => {
  const store = new SqliteStore(':memory:');
  return { listing: openListing(store), ports: store.ports, close: () => store.close() };
});
