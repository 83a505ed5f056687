// SPEC §3: large bodies are streamed intact both ways; many concurrent
// requests are all answered by the right backend.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { before, describe, test } from 'node:test';
import { startHttpBackend, type Backend, type EchoBody } from '../helpers/backends.js';
import { json } from '../helpers/http.js';
import { startStack, type Stack } from '../helpers/stack.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const TEN_MB = 10 * 1024 * 1024;

describe('large bodies and concurrency', () => {
  let stack: Stack;
  let sink: Backend;
  let source: Backend;
  const download = randomBytes(TEN_MB);
  const pool: Backend[] = [];
  // Distinct content per path, so bytes crossing from one answer into another are caught.
  const bodies = Array.from({ length: 6 }, () => randomBytes(8 * 1024 * 1024 + 12345));

  before(async () => {
    stack = await startStack();
    sink = await startHttpBackend({ name: 'sink' });
    source = await startHttpBackend({
      name: 'source',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': download.length });
        // Written in 64 KB pieces so the proxy has to stream, not receive one buffer.
        for (let i = 0; i < download.length; i += 65536) res.write(download.subarray(i, i + 65536));
        res.end();
      },
    });
    const mixed = await startHttpBackend({
      name: 'mixed',
      handler: (req, res) => {
        const body = bodies[Number(req.url!.slice(1))]!;
        res.writeHead(200, { 'content-length': body.length });
        // Pieces from 1 byte to 200 KiB, with pauses: reads of every size on the proxy's side.
        let at = 0;
        const next = (): void => {
          while (at < body.length) {
            const size = Math.min(body.length - at, [1, 700, 16 * 1024, 64 * 1024, 200 * 1024][at % 5]!);
            const more = res.write(body.subarray(at, at + size));
            at += size;
            if (!more) return void res.once('drain', next);
            if (at % 3 === 0) return void setImmediate(next);
          }
          res.end();
        };
        next();
      },
    });
    await stack.setFrontend('mixed.test', 'mixed-site', mixed.url);
    for (const name of ['p1', 'p2', 'p3']) pool.push(await startHttpBackend({ name }));
    await stack.setFrontend('sink.test', 'sink-site', sink.url);
    await stack.setFrontend('source.test', 'source-site', source.url);
    await stack.setFrontend('pool.test', 'pool-site', ...pool.map((b) => b.url));
  });

  test('a 10 MB request body reaches the backend intact (Content-Length)', async () => {
    const upload = randomBytes(TEN_MB);
    const res = await stack.get('sink.test', { method: 'POST', body: upload, timeoutMs: 60_000 });
    assert.equal(res.status, 200);
    const seen = json<EchoBody>(res);
    assert.equal(seen.bodyLength, upload.length);
    assert.equal(seen.bodySha256, sha256(upload));
  });

  test('a 10 MB chunked request body reaches the backend intact', async () => {
    const upload = randomBytes(TEN_MB);
    const res = await stack.get('sink.test', {
      method: 'PUT',
      body: upload,
      headers: { 'transfer-encoding': 'chunked' },
      timeoutMs: 60_000,
    });
    const seen = json<EchoBody>(res);
    assert.equal(seen.bodyLength, upload.length);
    assert.equal(seen.bodySha256, sha256(upload));
  });

  test('a 10 MB response body reaches the client intact', async () => {
    const res = await stack.get('source.test', { timeoutMs: 60_000 });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, download.length);
    assert.equal(sha256(res.body), sha256(download));
  });

  test('concurrent large answers of different content, read at different speeds, each arrive intact', async () => {
    const fetchSlowly = (i: number): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const req = http.get({ host: stack.proxy.address, port: stack.proxy.port, path: `/${i}`, headers: { host: 'mixed.test' } }, (res) => {
          const parts: Buffer[] = [];
          let received = 0;
          res.on('data', (chunk: Buffer) => {
            parts.push(chunk);
            received += chunk.length;
            if (i % 2 === 1 && received - chunk.length < 2 ** 20 && received >= 2 ** 20) {
              // Odd-numbered clients stall once, long enough to fill the socket buffers: the
              // proxy then holds a written chunk and pauses that backend while the others stream on.
              res.pause();
              setTimeout(() => res.resume(), 400);
            } else if (i % 2 === 0 && parts.length % 4 === 0) {
              // Even-numbered ones read steadily, slowly enough to still be streaming meanwhile.
              res.pause();
              setTimeout(() => res.resume(), 10);
            }
          });
          res.on('end', () => resolve(Buffer.concat(parts)));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
    const got = await Promise.all(bodies.map((_, i) => fetchSlowly(i)));
    got.forEach((body, i) => {
      assert.equal(body.length, bodies[i]!.length, `answer ${i}: length`);
      assert.equal(sha256(body), sha256(bodies[i]!), `answer ${i}: content`);
    });
  });

  test('500 concurrent requests are all answered by a backend of their frontend', async () => {
    const before = pool.map((b) => b.requests.length);
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => stack.get('pool.test', { path: `/c/${i}`, timeoutMs: 30_000 })),
    );
    const names = new Set(pool.map((b) => b.name));
    results.forEach((res, i) => {
      assert.equal(res.status, 200, `request ${i}: ${res.status} ${res.text.slice(0, 200)}`);
      const seen = json<EchoBody>(res);
      assert.ok(names.has(seen.name), `request ${i} answered by ${seen.name}`);
      assert.equal(seen.url, `/c/${i}`, 'each answer belongs to its own request');
    });
    const got = pool.map((b, i) => b.requests.length - (before[i] ?? 0));
    assert.equal(got.reduce((a, b) => a + b, 0), 500);
    // ~167 each expected; 100 is > 7 sd below.
    assert.ok(got.every((n) => n >= 100), `shares: ${got.join(', ')}`);
  });
});
