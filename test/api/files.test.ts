/**
 * Files and images (stream-v2-api.md §13) through the official client: multipart upload, serving
 * to anonymous GETs with headers that keep files from running in Rivulet's origin, image
 * processing with sharp, ownership, size limits, and the S3-compatible backend.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startS3 } from '../support/s3.js';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { expectApiError } from './activity-helpers.js';

async function jpeg(width = 200, height = 120): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#3a7' } }).jpeg().toBuffer();
}

async function png(width = 64, height = 64): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } } }).png().toBuffer();
}

/** GET a served file anonymously (no api key, no token). */
async function download(url: string, method = 'GET'): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(url, { method });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('files and images', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ config: { files: { max_mb: 1 } } });
  });
  after(async () => t.close());

  describe('files', () => {
    it('uploads a file and answers exactly {file, duration} with an absolute URL ending in the name and "?"', async () => {
      const alice = t.userClient(uid('alice'));
      const res: any = await alice.files.upload(Buffer.from('some string', 'binary'), 'x.txt', 'text/plain');
      assert.deepEqual(Object.keys(res).sort(), ['duration', 'file']);
      assert.equal(typeof res.duration, 'string');
      assert.ok(res.file.startsWith(new URL(t.baseUrl).origin + '/'), res.file);
      assert.ok(res.file.includes('/x.txt?'), res.file);
    });

    it('serves the exact bytes to an anonymous GET, as a download that cannot run in the origin', async () => {
      const bytes = randomBytes(5000);
      const res: any = await t.userClient(uid('alice')).files.upload(bytes, 'report.bin', 'application/octet-stream');
      const got = await download(res.file);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(bytes));
      assert.equal(got.headers.get('content-type'), 'application/octet-stream');
      assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
      assert.match(got.headers.get('content-disposition')!, /^attachment; filename="report.bin"/);
      assert.match(got.headers.get('content-security-policy')!, /sandbox/);
      const head = await download(res.file, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), '5000');
    });

    it('serves markup and scripts as opaque downloads whatever type the client declared', async () => {
      const alice = t.userClient(uid('alice'));
      for (const [name, type] of [['page.html', 'text/html'], ['x.svg', 'image/svg+xml'], ['a.js', 'application/javascript'], ['b.xhtml', 'application/xhtml+xml']]) {
        const res: any = await alice.files.upload(Buffer.from('<script>alert(1)</script>'), name, type);
        const got = await download(res.file);
        assert.equal(got.headers.get('content-type'), 'application/octet-stream', name);
        assert.match(got.headers.get('content-disposition')!, /^attachment/, name);
      }
      const txt: any = await alice.files.upload(Buffer.from('plain words'), 'notes.txt', 'text/plain');
      assert.equal((await download(txt.file)).headers.get('content-type'), 'text/plain');
    });

    it('keeps an unsafe name from leaving its URL segment', async () => {
      const res: any = await t.client().files.upload(Buffer.from('x'), '../../etc/pass wd?.txt', 'text/plain');
      assert.ok(res.file.includes('/pass%20wd%3F.txt?'), res.file);
      assert.equal((await download(res.file)).status, 200);
    });

    it('serves only URLs it issued: a changed signature, id or name is 404', async () => {
      const res: any = await t.client().files.upload(Buffer.from('secret'), 's.txt', 'text/plain');
      const u = new URL(res.file);
      for (const bad of [
        res.file.replace(/sig=[^&]+/, 'sig=AAAAAAAAAAAAAAAAAAAAAA'),
        res.file.replace(/\?.*$/, ''),
        res.file.replace('/s.txt?', '/t.txt?'),
        `${u.origin}${u.pathname.replace(/\/[^/]+\/s\.txt$/, '/AAAAAAAAAAAAAAAAAAAAAA/s.txt')}${u.search}`,
      ]) {
        assert.equal((await download(bad)).status, 404, bad);
      }
    });

    it('lets only the uploader (or a server token) delete; a second delete is 404 and the URL stops serving', async () => {
      const aliceId = uid('alice');
      const alice = t.userClient(aliceId);
      const bob = t.userClient(uid('bob'));
      const res: any = await alice.files.upload(Buffer.from('mine'), 'mine.txt', 'text/plain');
      await expectApiError(bob.files.delete(res.file), 403, 17, 'NotAllowedException');
      assert.equal((await download(res.file)).status, 200);
      const del: any = await alice.files.delete(res.file);
      assert.deepEqual(Object.keys(del), ['duration']);
      await expectApiError(alice.files.delete(res.file), 404, 16, 'DoesNotExistException');
      assert.equal((await download(res.file)).status, 404);
      const other: any = await alice.files.upload(Buffer.from('mine too'), 'm.txt', 'text/plain');
      await t.client().files.delete(other.file);
      assert.equal((await download(other.file)).status, 404);
    });

    it('refuses a file over the size limit with 413/18 and stores nothing', async () => {
      const err = await expectApiError(t.client().files.upload(randomBytes(1024 * 1024 + 1), 'big.bin', 'application/octet-stream'), 413, 18);
      assert.match(err.body.detail, /larger than 1 MiB/);
      const ok: any = await t.client().files.upload(randomBytes(1024 * 1024), 'fits.bin', 'application/octet-stream');
      assert.equal((await download(ok.file)).bytes.length, 1024 * 1024);
    });

    it('refuses a body that is not a multipart upload, and a URL that is not one of its files', async () => {
      const res = await rawRequest(t, 'POST', 'files/', { body: { file: 'x' } });
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /multipart\/form-data/);
      await expectApiError(t.client().files.delete('https://elsewhere.example/x.txt'), 404, 16);
      await expectApiError(t.client().files.delete(`${t.baseUrl}v1.0/files/999/abc/x.txt?sig=x`), 404, 16);
      const del = await rawRequest(t, 'DELETE', 'files/');
      assert.equal(del.status, 400);
    });

    it('needs a token allowed everywhere: a feed-scoped server token is 403', async () => {
      const form = new FormData();
      form.append('file', new Blob(['x']), 'x.txt');
      const token = t.client().feed('user', 'x').token;
      const url = new URL(`${t.baseUrl}v1.0/files/`);
      url.searchParams.set('api_key', t.apiKey);
      const res = await fetch(url, { method: 'POST', headers: { authorization: token }, body: form });
      assert.equal(res.status, 403);
      const anonymous = await fetch(url, { method: 'POST', body: form });
      assert.equal(anonymous.status, 401);
    });
  });

  describe('images', () => {
    it('uploads an image and serves it inline with the type its content has', async () => {
      const bytes = await jpeg();
      const res: any = await t.userClient(uid('alice')).images.upload(bytes, 'photo.jpg', 'application/octet-stream');
      assert.deepEqual(Object.keys(res).sort(), ['duration', 'file']);
      assert.ok(res.file.includes('/photo.jpg?'));
      const got = await download(res.file);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(bytes));
      assert.equal(got.headers.get('content-type'), 'image/jpeg');
      assert.match(got.headers.get('content-disposition')!, /^inline/);
      assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    });

    it('names the real format in the stored name when the extension says otherwise', async () => {
      const res: any = await t.client().images.upload(await png(), 'picture.jpg');
      assert.ok(res.file.includes('/picture.png?'), res.file);
      assert.equal((await download(res.file)).headers.get('content-type'), 'image/png');
    });

    it('refuses what is not an image by its content, naming the sniffed type', async () => {
      const alice = t.userClient(uid('alice'));
      await expectApiError(alice.images.upload(randomBytes(4096), 'helloworld.txt'), 400, 4, 'InputException', /^File type application\/octet-stream is not supported$/);
      await expectApiError(alice.images.upload(Buffer.from('hello world'), 'a.jpg', 'image/jpeg'), 400, 4, 'InputException', /^File type text\/plain is not supported$/);
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>');
      await expectApiError(alice.images.upload(svg, 'x.svg', 'image/svg+xml'), 400, 4, 'InputException', /^File type image\/svg\+xml is not supported$/);
    });

    it('resizes and crops: clip fits inside, crop and scale give the exact size, fill pads', async () => {
      const alice = t.userClient(uid('alice'));
      const up: any = await alice.images.upload(await jpeg(200, 120), 'p.jpg');
      const size = async (url: string) => {
        const got = await download(url);
        assert.equal(got.status, 200);
        assert.equal(got.headers.get('content-type'), 'image/jpeg');
        const m = await sharp(got.bytes).metadata();
        return [m.width, m.height];
      };
      const thumb: any = await alice.images.thumbnail(up.file, 50, 50);
      assert.deepEqual(Object.keys(thumb).sort(), ['duration', 'file']);
      assert.notEqual(thumb.file, up.file);
      assert.ok(thumb.file.includes('/p.jpg?'));
      assert.deepEqual(await size(thumb.file), [50, 30]);
      const crop: any = await alice.images.process(up.file, { w: 75, h: 50, crop: 'bottom', resize: 'crop' });
      assert.deepEqual(await size(crop.file), [75, 50]);
      const corner: any = await alice.images.process(up.file, { w: 75, h: 50, crop: 'bottom,right', resize: 'crop' });
      assert.deepEqual(await size(corner.file), [75, 50]);
      const scaled: any = await alice.images.process(crop.file, { w: 140, h: 30, resize: 'scale' });
      assert.deepEqual(await size(scaled.file), [140, 30]);
      const filled: any = await alice.images.process(up.file, { w: 100, h: 100, resize: 'fill' });
      assert.deepEqual(await size(filled.file), [100, 100]);
      const wide: any = await alice.images.process(up.file, { w: 100 });
      assert.deepEqual(await size(wide.file), [100, 60]);
      const again: any = await alice.images.thumbnail(up.file, 50, 50);
      assert.equal(again.file, thumb.file, 'the same processing of the same image is one file');
    });

    it('refuses bad processing parameters with 400/4', async () => {
      const alice = t.userClient(uid('alice'));
      const up: any = await alice.images.upload(await jpeg(), 'p.jpg');
      for (const params of [{ crop: 'impossible', w: 10 }, { w: -1 }, { h: -1 }, { resize: 'impossible', w: 10 }, { w: 0 }, { w: 1.5 }, { w: 5000 }, {}, { w: 10, crop: 'top,bottom' }, { w: 10, crop: 'left,top,right' }]) {
        await expectApiError(alice.images.process(up.file, params as any), 400, 4, 'InputException');
      }
      const file: any = await alice.files.upload(Buffer.from('x'), 'x.txt', 'text/plain');
      await expectApiError(alice.images.process(file.file, { w: 10 }), 400, 4);
    });

    it('lets only the owner process or delete an image; deleting it deletes its variants', async () => {
      const alice = t.userClient(uid('alice'));
      const bob = t.userClient(uid('bob'));
      const up: any = await alice.images.upload(await jpeg(), 'p.jpg');
      const thumb: any = await alice.images.thumbnail(up.file, 20, 20);
      await expectApiError(bob.images.process(up.file, { w: 75, h: 50, crop: 'bottom,right', resize: 'crop' }), 403, 17);
      await expectApiError(bob.images.process(thumb.file, { w: 10 }), 403, 17);
      await expectApiError(bob.images.delete(up.file), 403, 17);
      await alice.images.delete(up.file);
      assert.equal((await download(up.file)).status, 404);
      assert.equal((await download(thumb.file)).status, 404);
      await expectApiError(alice.images.delete(thumb.file), 404, 16);
      await expectApiError(alice.images.thumbnail(up.file, 10, 10), 404, 16);
    });
  });
});

describe('files on an S3-compatible store', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let t: TestServer;
  before(async () => {
    s3 = await startS3();
    const st = s3.settings('rivulet/');
    t = await startServer({
      config: {
        files: {
          backend: 's3',
          s3: { bucket: st.bucket, prefix: st.prefix, endpoint: st.endpoint, region: st.region, force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
        },
      },
    });
  });
  after(async () => {
    await t.close();
    await s3.close();
  });

  it('uploads, serves, processes and deletes through the bucket', async () => {
    const alice = t.userClient(uid('alice'));
    const bytes = randomBytes(70_000);
    const file: any = await alice.files.upload(bytes, 'data.bin', 'application/octet-stream');
    assert.ok((await download(file.file)).bytes.equals(bytes));
    const image: any = await alice.images.upload(await jpeg(), 'p.jpg');
    const thumb: any = await alice.images.thumbnail(image.file, 40, 40);
    assert.deepEqual(await sharp((await download(thumb.file)).bytes).metadata().then((m) => [m.width, m.height]), [40, 24]);
    await alice.images.delete(image.file);
    await alice.files.delete(file.file);
    for (const url of [file.file, image.file, thumb.file]) assert.equal((await download(url)).status, 404);
  });
});

describe('files across a restart', () => {
  it('serves an acknowledged upload after the server restarts on the same data', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rivulet-files-'));
    const app = { appId: '4242', apiKey: 'restartkey', apiSecret: 'a-secret-of-sixteen-characters' };
    try {
      const first = await startServer({ dataDir, app });
      const res: any = await first.client().files.upload(Buffer.from('kept'), 'kept.txt', 'text/plain');
      const path = new URL(res.file).pathname + new URL(res.file).search;
      await first.close();
      const second = await startServer({ dataDir, app });
      try {
        const got = await download(new URL(second.baseUrl).origin + path);
        assert.equal(got.status, 200);
        assert.equal(got.bytes.toString(), 'kept');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
