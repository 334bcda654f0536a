import { dataListingContract } from '../../../test/contract/data-listing.contract.js';
import { openListing, openRecords } from '../../compose/adapters.js';
import { SqliteStore } from './sqlite-store.js';

dataListingContract('sqlite', async () => {
  const store = new SqliteStore(':memory:');
  return { listing: openListing(store), ports: store.ports, signals: store.signals, records: openRecords(store), close: () => store.close() };
});
