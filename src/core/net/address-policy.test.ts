import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressPolicy } from './address-policy.js';

describe('address policy', () => {
  const none = new AddressPolicy([]);

  it('allows global unicast addresses', () => {
    for (const a of ['8.8.8.8', '93.184.216.34', '2606:4700::1111', '2a00:1450:4001:81c::200e']) assert.equal(none.addressAllowed(a), true, a);
  });

  it('refuses loopback, private, link-local, multicast and other non-public addresses', () => {
    for (const a of [
      '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '224.0.0.1',
      '239.255.255.250', '0.0.0.0', '255.255.255.255', '100.64.0.1', '192.0.2.1', '198.18.0.1',
      '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1',
      '64:ff9b::7f00:1', '2002:7f00:1::', '2001::1', 'not an address',
    ]) {
      assert.equal(none.addressAllowed(a), false, a);
    }
  });

  it('allows what the operator listed: ranges, addresses (also IPv4-mapped) and host names', () => {
    const p = new AddressPolicy(['10.1.0.0/16', '127.0.0.1', '[::1]', 'wiki.corp.example', '*.intra.example']);
    assert.equal(p.addressAllowed('10.1.2.3'), true);
    assert.equal(p.addressAllowed('10.2.0.1'), false);
    assert.equal(p.addressAllowed('127.0.0.1'), true);
    assert.equal(p.addressAllowed('::ffff:127.0.0.1'), true);
    assert.equal(p.addressAllowed('127.0.0.2'), false);
    assert.equal(p.addressAllowed('::1'), true);
    assert.equal(p.hostAllowed('wiki.corp.example'), true);
    assert.equal(p.hostAllowed('WIKI.corp.example.'), true);
    assert.equal(p.hostAllowed('evil-wiki.corp.example'), false);
    assert.equal(p.hostAllowed('a.b.intra.example'), true);
    assert.equal(p.hostAllowed('intra.example'), false);
  });

  it('names a bad allow-list entry', () => {
    assert.throws(() => AddressPolicy.validate(['10.0.0.0/99']), /10\.0\.0\.0\/99/);
    AddressPolicy.validate(['10.0.0.0/8', 'example.com', '*.example.com', '::1']);
  });
});
