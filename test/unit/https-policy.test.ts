// Per-vhost HTTPS policy (SPEC §7): the Location of a redirectHttps answer,
// the ACME challenge exception and the Strict-Transport-Security value. The
// proxy's behaviour end to end is test/integration/http-redirect-https.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Route } from '../../src/frontends/frontend-set.js';
import { httpsLocation, isAcmeChallenge, redirectsToHttps, stsValue } from '../../src/proxy/https-policy.js';
import type { FrontendOptions } from '../../src/vocabulary/events.js';

function route(options?: FrontendOptions): Route {
  return { key: 'secure.test', id: 'secure', backends: ['http://127.0.0.1:1'], options, source: 'file' };
}

describe('https policy', () => {
  test('the Location: https, the port only when it is not 443, the path and query as sent', () => {
    assert.equal(httpsLocation('secure.test', '/a/b?x=1&y=%20', 443), 'https://secure.test/a/b?x=1&y=%20');
    assert.equal(httpsLocation('secure.test', '/', 8443), 'https://secure.test:8443/');
    assert.equal(httpsLocation('127.0.0.1', '/x', 443), 'https://127.0.0.1/x');
    assert.equal(httpsLocation('[::1]', '/x', 8443), 'https://[::1]:8443/x');
    assert.equal(httpsLocation('secure.test', '*', 443), 'https://secure.test/', 'OPTIONS *: the server itself');
  });

  test('a path cannot move the authority nor put a control character in the header', () => {
    for (const path of ['//evil.test/x', '/\\evil.test', '/@evil.test']) {
      assert.equal(new URL(httpsLocation('secure.test', path, 443)!).host, 'secure.test', path);
    }
    assert.equal(httpsLocation('secure.test', '/a b\r\nSet-Cookie: x\x7f\xe9', 443), 'https://secure.test/a%20b%0D%0ASet-Cookie:%20x%7F%E9');
    assert.equal(httpsLocation('secure.test', '/\u20ac', 443), 'https://secure.test/%E2%82%AC');
  });

  test('a routed host that is no name a browser can be sent to: no Location', () => {
    for (const host of ['*.secure.test', '*', '..secure.test', 'a..secure.test', '.secure.test', '[::1', '[zz::1]', `${'a'.repeat(64)}.test`]) {
      assert.equal(httpsLocation(host, '/', 443), null, host);
    }
  });

  test('ACME HTTP-01 challenges stay on plain HTTP; nothing else under the prefix does', () => {
    assert.ok(isAcmeChallenge('/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0'));
    for (const path of ['/.well-known/acme-challenge/', '/.well-known/acme-challenge/../admin', '/.well-known/acme-challenge/a%2F..', '/.well-known/acme-challenge/tok?x=1', '/.well-known/acme-challenge/a/b', '/.WELL-KNOWN/acme-challenge/tok', '/x/.well-known/acme-challenge/tok']) {
      assert.equal(isAcmeChallenge(path), false, path);
    }
  });

  test('redirected: plain HTTP to a redirectHttps vhost, not HTTPS, not another vhost, not a challenge', () => {
    assert.equal(redirectsToHttps(route({ redirectHttps: true }), false, '/'), true);
    assert.equal(redirectsToHttps(route({ redirectHttps: true }), true, '/'), false);
    assert.equal(redirectsToHttps(route({ redirectHttps: false }), false, '/'), false);
    assert.equal(redirectsToHttps(route(), false, '/'), false);
    assert.equal(redirectsToHttps(route({ redirectHttps: true }), false, '/.well-known/acme-challenge/tok'), false);
  });

  test('Strict-Transport-Security: the max-age over HTTPS, none over plain HTTP, the backend\'s without hsts', () => {
    assert.equal(stsValue(route({ hsts: 31536000 }), true), 'max-age=31536000');
    assert.equal(stsValue(route({ hsts: 0 }), true), 'max-age=0');
    assert.equal(stsValue(route({ hsts: 600 }), false), '');
    assert.equal(stsValue(route(), true), null);
    assert.equal(stsValue(route({ redirectHttps: true }), false), null);
  });
});
