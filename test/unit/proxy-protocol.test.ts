import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatIPv6, readProxyHeader } from '../../src/proxy/proxy-protocol.js';
import { proxyV1, proxyV2 } from '../helpers/proxy-protocol.js';

const HTTP = Buffer.from('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n');

function complete(data: Buffer): { length: number; source: string | null } {
  const header = readProxyHeader(data);
  assert.equal(header.state, 'complete', JSON.stringify(header));
  return header as { length: number; source: string | null };
}

function invalid(data: Buffer): string {
  const header = readProxyHeader(data);
  assert.equal(header.state, 'invalid', `${data.toString('latin1')}: ${JSON.stringify(header)}`);
  return (header as { reason: string }).reason;
}

/** Every strict prefix of the header is incomplete: a header split across reads is waited for. */
function incompleteAtEverySplit(header: Buffer): void {
  for (let n = 0; n < header.length; n++) assert.equal(readProxyHeader(header.subarray(0, n)).state, 'incomplete', `first ${n} bytes`);
}

describe('PROXY protocol v1', () => {
  test('TCP4 and TCP6 give the source address and the header length', () => {
    const v4 = proxyV1({ source: '203.0.113.7', destination: '10.0.0.1' });
    assert.deepEqual(complete(Buffer.concat([v4, HTTP])), { state: 'complete', length: v4.length, source: '203.0.113.7' });
    const v6 = proxyV1({ source: '2001:db8::7', destination: '2001:db8::1' });
    assert.deepEqual(complete(v6), { state: 'complete', length: v6.length, source: '2001:db8::7' });
  });

  test('UNKNOWN keeps the peer (no source), whatever follows it on the line', () => {
    assert.equal(complete(Buffer.from('PROXY UNKNOWN\r\n')).source, null);
    assert.equal(complete(Buffer.from('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n')).source, null);
  });

  test('a header split anywhere is incomplete until its CRLF', () => {
    incompleteAtEverySplit(proxyV1({ source: '203.0.113.7', destination: '10.0.0.1' }));
  });

  test('malformed lines are invalid', () => {
    for (const line of [
      'PROXY TCP4 203.0.113.7 10.0.0.1 5000\r\n',
      'PROXY TCP4 2001:db8::7 10.0.0.1 5000 80\r\n',
      'PROXY TCP6 203.0.113.7 2001:db8::1 5000 80\r\n',
      'PROXY TCP4 203.0.113.7 10.0.0.1 05000 80\r\n',
      'PROXY TCP4 203.0.113.7 10.0.0.1 65536 80\r\n',
      'PROXY TCP4 203.0.113.7  10.0.0.1 5000 80\r\n',
      'PROXY TCP4 203.0.113.7 10.0.0.1 5000 80 extra\r\n',
      'PROXY UDP4 203.0.113.7 10.0.0.1 5000 80\r\n',
      'PROXY TCP4 203.0.113.256 10.0.0.1 5000 80\r\n',
    ]) {
      invalid(Buffer.from(line));
    }
  });

  test('a line with no CRLF within 107 bytes is invalid', () => {
    assert.match(invalid(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(100)}`)), /107/);
    assert.equal(readProxyHeader(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(90)}`)).state, 'incomplete');
  });

  test('anything that does not start like a header is invalid at once: a plain request, garbage, TLS', () => {
    invalid(HTTP);
    invalid(Buffer.from('POST / HTTP/1.1\r\n'));
    invalid(Buffer.from('PROXI'));
    invalid(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
    invalid(Buffer.from('\x00\x01'));
  });
});

describe('PROXY protocol v2', () => {
  test('PROXY over IPv4 and IPv6 gives the source address; what follows the header is left', () => {
    const v4 = proxyV2({ source: '203.0.113.7', destination: '10.0.0.1' });
    assert.deepEqual(complete(Buffer.concat([v4, HTTP])), { state: 'complete', length: v4.length, source: '203.0.113.7' });
    const v6 = proxyV2({ source: '2001:db8::7', destination: '2001:db8::1' });
    assert.deepEqual(complete(Buffer.concat([v6, HTTP])), { state: 'complete', length: v6.length, source: '2001:db8::7' });
  });

  test('TLVs after the addresses are skipped', () => {
    const header = proxyV2({ source: '198.51.100.1', destination: '10.0.0.1', tlvs: [[0x01, Buffer.from('h2')], [0x04, Buffer.from('x'.repeat(300))]] });
    assert.deepEqual(complete(Buffer.concat([header, HTTP])), { state: 'complete', length: header.length, source: '198.51.100.1' });
  });

  test('LOCAL, UNSPEC and UNIX keep the peer (no source)', () => {
    assert.equal(complete(proxyV2({ command: 'LOCAL' })).source, null);
    assert.equal(complete(proxyV2({ command: 'LOCAL', source: '203.0.113.7', destination: '10.0.0.1' })).source, null);
    assert.equal(complete(proxyV2({ family: 0x00 })).source, null);
    assert.equal(complete(proxyV2({ family: 0x31, addresses: Buffer.alloc(216) })).source, null);
  });

  test('a header split anywhere is incomplete until its last byte', () => {
    incompleteAtEverySplit(proxyV2({ source: '2001:db8::7', destination: '2001:db8::1', tlvs: [[0x02, Buffer.from('authority')]] }));
  });

  test('a wrong version, an unknown command or family, an address block too short are invalid', () => {
    const good = proxyV2({ source: '203.0.113.7', destination: '10.0.0.1' });
    const altered = (at: number, value: number) => Buffer.from(good).fill(value, at, at + 1);
    invalid(altered(12, 0x11)); // version 1 in binary
    invalid(altered(12, 0x22)); // command 2
    invalid(altered(13, 0x41)); // family 4
    invalid(proxyV2({ family: 0x11, addresses: Buffer.alloc(8) }));
    invalid(proxyV2({ family: 0x21, addresses: Buffer.alloc(20) }));
    invalid(altered(11, 0x0b)); // the signature's last byte
  });
});

describe('formatIPv6', () => {
  test('RFC 5952 text: the longest zero run compressed, lower case, IPv4-mapped as IPv4', () => {
    const bytes = (groups: number[]) => Buffer.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
    assert.equal(formatIPv6(bytes([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])), '2001:db8::1');
    assert.equal(formatIPv6(bytes([0x2001, 0xdb8, 0, 0, 1, 0, 0, 0])), '2001:db8:0:0:1::');
    assert.equal(formatIPv6(bytes([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])), '2001:db8:0:1:1:1:1:1');
    assert.equal(formatIPv6(bytes([0, 0, 0, 0, 0, 0, 0, 1])), '::1');
    assert.equal(formatIPv6(bytes([0, 0, 0, 0, 0, 0, 0, 0])), '::');
    assert.equal(formatIPv6(bytes([0xfe80, 0, 0, 0, 0xabcd, 0, 0, 0])), 'fe80::abcd:0:0:0');
    assert.equal(formatIPv6(bytes([0, 0, 0, 0, 0, 0xffff, 0xcb00, 0x7107])), '203.0.113.7');
  });
});
