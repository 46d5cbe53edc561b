import { describe, expect, it } from 'vitest';
import { addressGroup } from '../../src/identity/client-address.js';

describe('client address groups of the guest limit', () => {
  it('counts an IPv4 address on its own', () => {
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7/32');
    expect(addressGroup('203.0.113.8')).not.toBe(addressGroup('203.0.113.7'));
  });

  it('counts every address of one IPv6 /64 as one group, whatever its spelling', () => {
    const group = addressGroup('2001:db8:1:2::1');
    for (const ip of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0:0:0:9', '2001:db8:1:2:a:b:1.2.3.4', 'fe80::1%eth0'.replace('fe80::', '2001:db8:1:2::')]) {
      expect(addressGroup(ip)).toBe(group);
    }
    expect(group).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8:1:3::1')).not.toBe(group);
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7/32');
    expect(addressGroup('::ffff:cb00:7107')).toBe('203.0.113.7/32');
  });

  it('puts an unknown address in a group of its own', () => {
    expect(addressGroup('unknown')).toBe('unknown');
  });
});
