import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createVerifier } from 'fast-jwt';
import { connect } from 'getstream';
import { parseConfig } from '../config/config.js';
import { startServer, type TestServer } from '../../test/support/server.js';
import { addApp, listApps, rotateSecret, UsageError, userToken } from './apps.js';

describe('rivulet apps', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rivulet-apps-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('adds apps to a config file, keeping everything else in it, and lists them with secrets hidden', () => {
    const file = join(dir, 'config.json');
    const original = {
      apps: [{ app_id: 'one', api_key: 'keyone', api_secret: 's'.repeat(32), feed_groups: [{ name: 'user', type: 'flat' }] }],
      fanout: { inline_max_followers: 5 },
      read_cache: { max_mb: 3 },
    };
    writeFileSync(file, JSON.stringify(original));
    const { app } = addApp(dir, file, { appId: 'two' });
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(raw.apps[0], original.apps[0]);
    assert.deepEqual(raw.fanout, original.fanout);
    assert.deepEqual(raw.read_cache, original.read_cache);
    assert.equal(raw.apps[1].app_id, 'two');
    assert.equal(app.apiKey, raw.apps[1].api_key);
    assert.ok(raw.apps[1].api_secret.length >= 32);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(parseConfig(raw, dir).apps.length, 2);

    const listed = listApps(dir, file, false);
    assert.match(listed, /app one/);
    assert.match(listed, /app two/);
    assert.ok(!listed.includes(raw.apps[1].api_secret) && !listed.includes('s'.repeat(32)));
    assert.ok(listApps(dir, file, true).includes(raw.apps[1].api_secret));
  });

  it('leaves the file as it was when a change would make it invalid', () => {
    const file = join(dir, 'dup.json');
    const text = JSON.stringify({ apps: [{ app_id: 'one', api_key: 'keyone', api_secret: 's'.repeat(32), feed_groups: [{ name: 'user', type: 'flat' }] }] });
    writeFileSync(file, text);
    assert.throws(() => addApp(dir, file, { appId: 'one' }), /duplicate app id/);
    assert.equal(readFileSync(file, 'utf8'), text);
  });

  it('creates the data directory\'s config with its first app when there is none', () => {
    const data = join(dir, 'fresh');
    const { app, text } = addApp(data, undefined, {});
    assert.match(text, /Created .*app\.json/);
    assert.equal(JSON.parse(readFileSync(join(data, 'app.json'), 'utf8')).apps[0].app_id, app.appId);
  });

  it('rotates one app\'s secret and nothing else', () => {
    const file = join(dir, 'rotate.json');
    const before = {
      apps: [
        { app_id: 'one', api_key: 'keyone', api_secret: 'a'.repeat(32), feed_groups: [{ name: 'user', type: 'flat' }] },
        { app_id: 'two', api_key: 'keytwo', api_secret: 'b'.repeat(32), feed_groups: [{ name: 'user', type: 'flat' }] },
      ],
    };
    writeFileSync(file, JSON.stringify(before));
    const { secret } = rotateSecret(dir, file, 'two');
    const after = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(after.apps[1].api_secret, secret);
    assert.notEqual(secret, before.apps[1].api_secret);
    assert.deepEqual(after.apps[0], before.apps[0]);
    assert.deepEqual({ ...after.apps[1], api_secret: 'x' }, { ...before.apps[1], api_secret: 'x' });
    assert.throws(() => rotateSecret(dir, file, 'three'), UsageError);
  });
});

describe('rivulet token', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(() => t.close());

  const config = () =>
    parseConfig({ apps: [{ app_id: t.appId, api_key: t.apiKey, api_secret: t.apiSecret, feed_groups: [{ name: 'user', type: 'flat' }] }] }, tmpdir());

  it('makes a user token the server accepts for that user and refuses for another', async () => {
    const token = userToken(config(), { user: 'alice' });
    assert.deepEqual(createVerifier({ key: t.apiSecret })(token), { user_id: 'alice' });
    const alice = connect(t.apiKey, token, t.appId, { urlOverride: { api: t.baseUrl } });
    await alice.feed('user', 'alice').addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:1' });
    await assert.rejects(alice.feed('user', 'bob').addActivity({ actor: 'SU:bob', verb: 'post', object: 'o:1' }), /403|not allowed/i);
    assert.equal(userToken(config(), { user: 'alice' }), token, 'the same user gets the same token');
  });

  it('adds exp with --expires-in, and names the app when there are several', () => {
    const claims = createVerifier({ key: t.apiSecret })(userToken(config(), { user: 'bob', expiresIn: 60 })) as { exp: number; iat: number };
    assert.equal(claims.exp - claims.iat, 60);
    const two = parseConfig(
      {
        apps: [
          { app_id: 'a1', api_key: 'key1', api_secret: 'x'.repeat(20), feed_groups: [{ name: 'user', type: 'flat' }] },
          { app_id: 'a2', api_key: 'key2', api_secret: 'y'.repeat(20), feed_groups: [{ name: 'user', type: 'flat' }] },
        ],
      },
      tmpdir(),
    );
    assert.throws(() => userToken(two, { user: 'bob' }), /name one \(a1, a2\)/);
    assert.deepEqual(createVerifier({ key: 'y'.repeat(20) })(userToken(two, { user: 'bob', app: 'a2' })), { user_id: 'bob' });
    assert.throws(() => userToken(two, { user: 'bob', app: 'a3' }), UsageError);
    assert.throws(() => userToken(two, { user: 'bad user!', app: 'a1' }), /not a user id/);
    assert.throws(() => userToken(two, { user: 'bob', app: 'a1', expiresIn: -1 }), /expires-in/);
  });
});
