import { after, before } from 'node:test';
import { blobStoreContract } from '../../../test/contract/blob-store.contract.js';
import { startS3 } from '../../../test/support/s3.js';
import { S3BlobStore } from './s3-blob-store.js';

let s3: Awaited<ReturnType<typeof startS3>>;
before(async () => {
  s3 = await startS3();
});
after(async () => s3.close());

blobStoreContract('S3-compatible (s3rver)', async () => new S3BlobStore(s3.settings('contract/')));
