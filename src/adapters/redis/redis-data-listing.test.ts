import { dataListingContract } from '../../../test/contract/data-listing.contract.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { openListing, openRecords } from '../../compose/adapters.js';
import { RedisStore } from './redis-store.js';

onRedisCluster('data listing', () => {
  dataListingContract('redis', async () => {
    const store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
    return { listing: openListing(store), ports: store.ports, signals: store.signals, records: openRecords(store), close: () => store.close() };
  });
});
