import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

/**
 * Which addresses outbound fetches may reach: global unicast only, plus what the operator allows.
 * Refused by default: loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
 * (169.254/16 — cloud metadata — and fe80::/10), multicast, unspecified, broadcast, carrier-grade
 * NAT, reserved and documentation ranges, and IPv6 forms that embed an IPv4 address (mapped, 6to4,
 * NAT64, Teredo), whose embedded address could be any of those.
 *
 * Allow-list entries are CIDR ranges (`10.1.0.0/16`, `127.0.0.1/32`, `fd00::/8`), single addresses,
 * or host names (`wiki.corp.example`, `*.corp.example`): a listed host may resolve to anything.
 */
export class AddressPolicy {
  readonly #ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  readonly #hosts = new Set<string>();
  readonly #suffixes: string[] = [];

  constructor(allow: readonly string[]) {
    for (const raw of allow) {
      const entry = raw.trim().toLowerCase();
      if (entry.includes('/')) {
        this.#ranges.push(ipaddr.parseCIDR(entry));
      } else if (isIP(entry.replace(/^\[|\]$/g, ''))) {
        const a = ipaddr.parse(entry.replace(/^\[|\]$/g, ''));
        this.#ranges.push([a, a.kind() === 'ipv4' ? 32 : 128]);
      } else if (entry.startsWith('*.')) {
        this.#suffixes.push(entry.slice(1));
      } else {
        this.#hosts.add(entry);
      }
    }
  }

  /** Checks entries once at config load: throws naming the bad one. */
  static validate(allow: readonly string[]): void {
    for (const e of allow) {
      try {
        new AddressPolicy([e]);
      } catch {
        throw new Error(`not a CIDR range, address or host name: ${JSON.stringify(e)}`);
      }
    }
  }

  /** Whether the operator listed this host name (then any address it resolves to is allowed). */
  hostAllowed(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.#hosts.has(h) || this.#suffixes.some((s) => h.endsWith(s));
  }

  /** Whether an address may be connected to: global unicast, or inside an allowed range. */
  addressAllowed(address: string): boolean {
    let a: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      a = ipaddr.parse(address);
    } catch {
      return false;
    }
    for (const [net, bits] of this.#ranges) {
      if (a.kind() === net.kind() && a.match(net, bits)) return true;
      // An IPv4-mapped IPv6 address is the IPv4 address.
      if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() && net.kind() === 'ipv4') {
        if ((a as ipaddr.IPv6).toIPv4Address().match(net, bits)) return true;
      }
    }
    return a.range() === 'unicast';
  }
}
