import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, ConfigError, DEFAULT_HEALTH_STALL_MS } from '../config/config.js';
import { withHealthPort } from './environment.js';

const APPS = [{ app_id: '1', api_key: 'key1', api_secret: 's'.repeat(24), feed_groups: [{ name: 'user', type: 'flat' }] }];

describe('health listener settings', () => {
  it('come from the config file, with a stall limit of 5 s and no port by default', () => {
    assert.deepEqual(parseConfig({ apps: APPS }, '/tmp').health, { host: undefined, port: undefined, stallMs: DEFAULT_HEALTH_STALL_MS });
    assert.deepEqual(parseConfig({ apps: APPS, health: { port: 8081, host: '0.0.0.0', stall_ms: 250 } }, '/tmp').health, { host: '0.0.0.0', port: 8081, stallMs: 250 });
    assert.throws(() => parseConfig({ apps: APPS, health: { stall_ms: 5 } }, '/tmp'), /health\.stall_ms/);
    assert.throws(() => parseConfig({ apps: APPS, health: { port: 70_000 } }, '/tmp'), /health\.port/);
    assert.throws(() => parseConfig({ apps: APPS, health: { ports: 1 } }, '/tmp'), ConfigError);
  });

  it('take the port from --health-port, then RIVULET_HEALTH_PORT, over the file', () => {
    const file = parseConfig({ apps: APPS, health: { port: 8081, stall_ms: 250 } }, '/tmp');
    assert.equal(withHealthPort(file, {}, {}).health.port, 8081);
    assert.equal(withHealthPort(file, {}, { RIVULET_HEALTH_PORT: '9001' }).health.port, 9001);
    assert.equal(withHealthPort(file, { healthPort: '9002' }, { RIVULET_HEALTH_PORT: '9001' }).health.port, 9002);
    assert.equal(withHealthPort(file, {}, { RIVULET_HEALTH_PORT: 'off' }).health.port, undefined);
    assert.equal(withHealthPort(file, { healthPort: '' }, {}).health.port, undefined);
    assert.equal(withHealthPort(file, { healthPort: '0' }, {}).health.port, 0);
    assert.equal(withHealthPort(file, { healthPort: '9002' }, {}).health.stallMs, 250);
    for (const bad of ['-1', '65536', '80.5', 'http', '0x50']) {
      assert.throws(() => withHealthPort(file, { healthPort: bad }, {}), new RegExp(`health port: "${bad.replace('.', '\\.')}" is not a valid port`));
    }
  });
});
