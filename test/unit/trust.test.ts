import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTrustEntry } from '../../src/config/trusted-proxies.js';
import { TrustedProxies } from '../../src/proxy/trust.js';

const trusts = (entries: string[], address: string | undefined): boolean => TrustedProxies.compile(entries).has(address);

describe('server.trustedProxies', () => {
  test('the default, loopback and private, covers loopback, RFC 1918, RFC 4193 and link-local, and nothing else', () => {
    const inside = ['127.0.0.1', '127.255.0.9', '::1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.9.9', 'fd12:3456::1', 'fc00::1', 'fe80::1', 'fe80::1%eth0'];
    const outside = ['203.0.113.7', '172.32.0.1', '172.15.255.255', '192.169.0.1', '11.0.0.1', '8.8.8.8', '::2', '2001:db8::1', 'fec0::1', '100.64.0.1'];
    for (const address of inside) assert.equal(trusts(['loopback', 'private'], address), true, address);
    for (const address of outside) assert.equal(trusts(['loopback', 'private'], address), false, address);
  });

  test('an IPv4-mapped IPv6 address is its IPv4 address', () => {
    assert.equal(trusts(['10.0.0.0/8'], '::ffff:10.9.8.7'), true);
    assert.equal(trusts(['10.0.0.0/8'], '::ffff:a09:807'), true, 'the mapped address in hex groups');
    assert.equal(trusts(['loopback'], '::ffff:127.0.0.1'), true);
    assert.equal(trusts(['10.0.0.0/8'], '::ffff:11.0.0.1'), false);
    assert.equal(trusts(['::ffff:10.0.0.0/104'], '10.200.0.1'), true, 'a mapped CIDR covers the IPv4 range');
  });

  test('CIDR prefixes are exact at their boundaries, host bits of the network ignored', () => {
    assert.equal(trusts(['192.0.2.64/26'], '192.0.2.64'), true);
    assert.equal(trusts(['192.0.2.64/26'], '192.0.2.127'), true);
    assert.equal(trusts(['192.0.2.64/26'], '192.0.2.128'), false);
    assert.equal(trusts(['192.0.2.64/26'], '192.0.2.63'), false);
    assert.equal(trusts(['10.1.2.3/8'], '10.200.0.1'), true, '10.1.2.3/8 is 10.0.0.0/8');
    assert.equal(trusts(['2001:db8:0:0:1::/80'], '2001:db8::1:0:0:5'), true);
    assert.equal(trusts(['2001:db8:0:0:1::/80'], '2001:db8::1:0:0'), false);
    assert.equal(trusts(['2001:db8::/33'], '2001:db8:7fff::1'), true);
    assert.equal(trusts(['2001:db8::/33'], '2001:db8:8000::1'), false);
  });

  test('a bare address is that address only', () => {
    assert.equal(trusts(['203.0.113.7'], '203.0.113.7'), true);
    assert.equal(trusts(['203.0.113.7'], '203.0.113.8'), false);
    assert.equal(trusts(['2001:db8::7'], '2001:0db8:0000::0007'), true);
    assert.equal(trusts(['2001:db8::7'], '2001:db8::8'), false);
  });

  test('"all" trusts every address, IPv4 and IPv6; an empty list trusts none', () => {
    for (const address of ['203.0.113.7', '::ffff:8.8.8.8', '2001:db8::1', '127.0.0.1']) {
      assert.equal(trusts(['all'], address), true, address);
      assert.equal(trusts([], address), false, address);
    }
    assert.equal(trusts(['0.0.0.0/0'], '2001:db8::1'), false, '0.0.0.0/0 is every IPv4 address, not IPv6');
    assert.equal(trusts(['0.0.0.0/0'], '8.8.8.8'), true);
  });

  test('an address that is not one (undefined, a name) is not trusted', () => {
    assert.equal(trusts(['all'], undefined), false);
    assert.equal(trusts(['all'], 'localhost'), false);
  });

  test('entries that are no word, address or CIDR are refused', () => {
    for (const bad of ['Loopback', 'privat', '10.0.0.0/33', '::/129', '10.0.0/8', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', 'example.com', '1.2.3.4/08x', '']) {
      assert.equal(parseTrustEntry(bad), null, bad);
      assert.throws(() => TrustedProxies.compile([bad]), /trustedProxies/, bad);
    }
    for (const good of ['loopback', 'private', 'all', '10.0.0.0/8', '10.0.0.1', '::1', 'fd00::/8', '::/0', '0.0.0.0/0']) {
      assert.notEqual(parseTrustEntry(good), null, good);
    }
  });
});
