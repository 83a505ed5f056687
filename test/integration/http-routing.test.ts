// SPEC §2: how a request's Host selects a frontend:<host> list in Redis.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { json, rawRequest } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

type Echo = { name: string; url: string; headers: Record<string, string> };

describe('HTTP routing by Host (Hipache Redis protocol)', () => {
  let stack: Stack;
  const b: Record<string, Backend> = {};

  before(async () => {
    stack = await startStack();
    for (const name of ['exact', 'norm', 'ipv4', 'ipv6', 'wild', 'deep', 'mid', 'star', 'other']) {
      b[name] = await startHttpBackend({ name });
    }
  });

  async function answeredBy(host: string): Promise<string> {
    const res = await stack.get(host);
    assert.equal(res.status, 200, `Host ${host}: ${res.status} ${res.text.slice(0, 200)}`);
    return json<Echo>(res).name;
  }

  test('exact host is routed to its backend, path and Host kept', async () => {
    await stack.setFrontend('exact.test', 'exact-site', b.exact!.url);
    const res = await stack.get('exact.test', { path: '/a/b?c=d' });
    assert.equal(res.status, 200);
    const echo = json<Echo>(res);
    assert.equal(echo.name, 'exact');
    assert.equal(echo.url, '/a/b?c=d');
    assert.equal(echo.headers.host, 'exact.test');
  });

  test('Host is normalised: port stripped, lowercased, one trailing dot dropped', async () => {
    await stack.setFrontend('norm.test', 'norm-site', b.norm!.url);
    for (const host of ['norm.test:8080', 'NORM.Test', 'norm.test.', 'Norm.TEST.:81']) {
      assert.equal(await answeredBy(host), 'norm', `Host: ${host}`);
    }
  });

  test('an IPv4 literal Host (with or without port) is looked up like a name', async () => {
    await stack.setFrontend('127.0.0.2', 'ipv4-site', b.ipv4!.url);
    assert.equal(await answeredBy('127.0.0.2'), 'ipv4');
    assert.equal(await answeredBy('127.0.0.2:8080'), 'ipv4');
  });

  test('an IPv6 literal Host [::1]:port has its port stripped', async () => {
    // The SPEC does not say whether the key keeps the brackets: configure both.
    await stack.setFrontend('[::1]', 'ipv6-site', b.ipv6!.url);
    await stack.setFrontend('::1', 'ipv6-site', b.ipv6!.url);
    assert.equal(await answeredBy('[::1]:8080'), 'ipv6');
    assert.equal(await answeredBy('[::1]'), 'ipv6');
  });

  test('wildcard *.example.test matches subdomains but not the bare domain', async () => {
    await stack.setFrontend('*.example.test', 'wild-site', b.wild!.url);
    assert.equal(await answeredBy('www.example.test'), 'wild');
    assert.equal(await answeredBy('a.b.example.test:3000'), 'wild');
    assert.equal((await stack.get('example.test')).status, 400);
  });

  test('exact frontend wins over a matching wildcard', async () => {
    await stack.setFrontend('*.example.test', 'wild-site', b.wild!.url);
    await stack.setFrontend('exact.example.test', 'exact-site', b.exact!.url);
    assert.equal(await answeredBy('exact.example.test'), 'exact');
    assert.equal(await answeredBy('inexact.example.test'), 'wild');
  });

  test('the most specific wildcard wins, even deeper than 5 labels', async () => {
    await stack.setFrontend('*.example.test', 'wild-site', b.wild!.url);
    await stack.setFrontend('*.a.b.c.d.e.example.test', 'deep-site', b.deep!.url);
    await stack.setFrontend('*.d.e.example.test', 'mid-site', b.mid!.url);
    assert.equal(await answeredBy('x.a.b.c.d.e.example.test'), 'deep'); // 8 labels
    assert.equal(await answeredBy('y.x.a.b.c.d.e.example.test'), 'deep'); // 9 labels
    assert.equal(await answeredBy('q.c.d.e.example.test'), 'mid');
    assert.equal(await answeredBy('q.e.example.test'), 'wild');
  });

  test('catch-all * answers unknown hosts, and only while it exists', async (t) => {
    t.after(() => stack.redis.cmd('DEL', 'frontend:*'));
    await stack.setFrontend('exact.test', 'exact-site', b.exact!.url);
    assert.equal((await stack.get('nowhere.invalid')).status, 400);
    await stack.setFrontend('*', 'catch-all', b.star!.url);
    assert.equal(await answeredBy('nowhere.invalid'), 'star');
    assert.equal(await answeredBy('exact.test'), 'exact', 'an exact frontend still wins over *');
    await stack.redis.cmd('DEL', 'frontend:*');
    assert.equal((await stack.get('nowhere.invalid')).status, 400);
  });

  test('unknown host gets 400 from the proxy itself', async () => {
    const res = await stack.get('unknown-host.invalid');
    assert.equal(res.status, 400);
    for (const backend of Object.values(b)) {
      assert.ok(backend.requests.every((r) => r.headers.host !== 'unknown-host.invalid'));
    }
  });

  test('missing Host (HTTP/1.0) gets 400', async () => {
    const res = await rawRequest(stack.proxy.port, 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(res.status, 400, res.text);
  });

  test('missing Host (HTTP/1.1) gets 400 and the connection closed, under either front end (node:http answers it)', async () => {
    const res = await rawRequest(stack.proxy.port, 'GET / HTTP/1.1\r\n\r\n', { timeoutMs: 2000 });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.timedOut, false, 'closed after the 400');
  });

  test('empty Host gets 400', async () => {
    const res = await rawRequest(stack.proxy.port, 'GET / HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 400, res.text);
  });

  test('a list holding only the identifier answers 502 and does not fall back to a wildcard or *', async (t) => {
    t.after(() => stack.redis.cmd('DEL', 'frontend:*'));
    await stack.setFrontend('*', 'catch-all', b.star!.url);
    await stack.setFrontend('*.example.test', 'wild-site', b.wild!.url);
    await stack.setFrontend('empty.example.test', 'empty-site');
    const before = b.star!.requests.length + b.wild!.requests.length;
    const res = await stack.get('empty.example.test');
    assert.equal(res.status, 502);
    assert.equal(b.star!.requests.length + b.wild!.requests.length, before);
  });

  test('Host: __ping__ is answered by the proxy: 200 "ok"', async () => {
    const res = await stack.get('__ping__');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
  });

  test('__ping__ is answered even when a catch-all * exists', async (t) => {
    t.after(() => stack.redis.cmd('DEL', 'frontend:*'));
    await stack.setFrontend('*', 'catch-all', b.other!.url);
    const res = await stack.get('__ping__');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
    assert.equal(b.other!.requests.length, 0);
  });
});
