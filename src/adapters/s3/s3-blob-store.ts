import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { BlobStore, OpenBlob } from '../../ports/blob-store.js';
import { checkKey } from '../local/local-blob-store.js';
import type { S3BlobSettings } from '../../config/config.js';

/** S3 deletes at most this many keys per request. */
const DELETE_BATCH = 1000;

/**
 * {@link BlobStore} on S3 or an S3-compatible server, for API nodes that share no disk. Objects are
 * private: Rivulet serves them itself (with its own headers), so the bucket needs no public access.
 */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(s: S3BlobSettings) {
    const config: S3ClientConfig = {
      region: s.region ?? 'us-east-1',
      endpoint: s.endpoint,
      forcePathStyle: s.forcePathStyle ?? s.endpoint !== undefined,
      credentials: s.credentials,
      // Checksums only where S3 requires them: several S3-compatible servers do not understand the
      // streaming trailer checksums newer SDKs add by default.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    this.#client = new S3Client(config);
    this.#bucket = s.bucket;
    this.#prefix = s.prefix ?? '';
  }

  #key(key: string): string {
    return this.#prefix + checkKey(key);
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: bytes, ContentLength: bytes.length, ContentType: 'application/octet-stream' }),
    );
  }

  async open(key: string): Promise<OpenBlob | null> {
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      const body = res.Body as Readable | undefined;
      if (!body) return null;
      let taken = false;
      return {
        size: res.ContentLength ?? 0,
        stream: () => {
          if (taken) throw new Error('blob stream already taken');
          taken = true;
          return body;
        },
      };
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) return null;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const chunk = keys.slice(i, i + DELETE_BATCH);
      const res = await this.#client.send(
        new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: chunk.map((k) => ({ Key: this.#key(k) })), Quiet: true } }),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`S3 could not delete ${failed.length} objects: ${failed[0].Code} ${failed[0].Message ?? ''}`);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
