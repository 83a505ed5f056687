// GET /events/stream on the admin listener, read as bytes by a plain HTTP
// client: a change to the vhosts file arrives as a Server-Sent Event, a
// reconnecting client resumes from its Last-Event-ID, a client that goes
// away is forgotten, and when the worker followed dies the stream says so
// (resync) and goes on with the next one's events; a reload that moves the
// admin listener ends the streams open on the old one.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { startHttpBackend, type Backend } from '../helpers/backends.js';
import { request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { dataOf, openEventStream, type SseMessage } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

function vhosts(backend: Backend, hosts: string[]): string {
  return `vhosts:\n${hosts.map((h) => `  ${h}: { backends: [${backend.url}] }\n`).join('')}`;
}

const setFor = (key: string) => (m: SseMessage) => m.event === 'message' && dataOf(m).type === 'frontend-set' && dataOf(m).frontend.key === key;

describe('admin /events/stream', () => {
  let backend: Backend;
  let instance: FileInstance;
  /** Hosts the file defines so far: each test adds its own. */
  const hosts = ['app.test'];
  const add = (host: string) => {
    hosts.push(host);
    instance.save(vhosts(backend, hosts));
  };

  before(async () => {
    backend = await startHttpBackend({ name: 'alpha' });
    instance = await startFileInstance(vhosts(backend, hosts), { workers: 2 });
  });

  test('a change to the vhosts file arrives as an event with id <pid>:<seq>, after the recent ones', async () => {
    const stream = await openEventStream(instance.adminPort);
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    assert.equal(stream.headers['cache-control'], 'no-store');
    const snapshot = await stream.next((m) => dataOf(m).type === 'snapshot', 'the first snapshot, from the history');
    add('first.test');
    const event = await stream.next(setFor('first.test'), 'the new frontend on the stream');
    const { workers } = await instance.status();
    const data = dataOf(event);
    assert.equal(event.id, `${workers[0].pid}:${data.seq}`, 'numbered in the oldest worker\'s history');
    assert.ok(data.seq > dataOf(snapshot).seq);
    assert.equal(data.source, 'file');
    assert.deepEqual(data.frontend.backends, [backend.url]);
    assert.match(data.at, /^\d{4}-\d\d-\d\dT/);
    stream.close();
  });

  test('a client reconnecting with Last-Event-ID gets exactly the events after it; one from another numbering gets a resync', async () => {
    const stream = await openEventStream(instance.adminPort);
    add('second.test');
    const second = await stream.next(setFor('second.test'), 'second.test');
    add('third.test');
    add('fourth.test');
    const fourth = await stream.next(setFor('fourth.test'), 'fourth.test');
    stream.close();

    const resumed = await openEventStream(instance.adminPort, { 'last-event-id': second.id! });
    await resumed.next(setFor('fourth.test'), 'fourth.test, resumed');
    const [pid, seq] = second.id!.split(':').map(Number);
    const seqs = resumed.messages.map((m) => dataOf(m).seq);
    const expected = Array.from({ length: dataOf(fourth).seq - seq! }, (_, i) => seq! + 1 + i);
    assert.deepEqual(seqs, expected, 'every event after the one named, and nothing before it');
    assert.ok(resumed.messages.every((m) => m.event === 'message' && m.id!.startsWith(`${pid}:`)));
    resumed.close();

    const stranger = await openEventStream(instance.adminPort, { 'last-event-id': `1:${seq}` });
    const resync = await stranger.next(() => true, 'the first message');
    assert.equal(resync.event, 'resync');
    const followed = Number((await instance.status()).workers[0].worker);
    assert.deepEqual(dataOf(resync), { reason: 'worker-changed', worker: followed, pid, seq: dataOf(fourth).seq });
    stranger.close();
  });

  test('a client that goes away is forgotten (/status counts the open streams)', async () => {
    const streams = await Promise.all([openEventStream(instance.adminPort), openEventStream(instance.adminPort)]);
    await waitFor(async () => (await instance.status()).eventStreams === 2, { message: 'two streams open' });
    streams[0]!.close();
    await waitFor(async () => (await instance.status()).eventStreams === 1, { message: 'one stream left' });
    streams[1]!.close();
    await waitFor(async () => (await instance.status()).eventStreams === 0, { message: 'none left' });
  });

  test('at most 100 streams at once: the next gets 503 with Retry-After (each holds a descriptor of the master); one closing makes room', async () => {
    const streams = await Promise.all(Array.from({ length: 100 }, () => openEventStream(instance.adminPort)));
    assert.ok(streams.every((s) => s.status === 200));
    await waitFor(async () => (await instance.status()).eventStreams === 100, { message: '100 streams open' });
    const refused = await openEventStream(instance.adminPort);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '10');
    streams[0]!.close();
    await waitFor(async () => (await instance.status()).eventStreams === 99, { message: 'one closed' });
    const next = await openEventStream(instance.adminPort);
    assert.equal(next.status, 200);
    for (const stream of [...streams, next]) stream.close();
    await waitFor(async () => (await instance.status()).eventStreams === 0, { message: 'all closed' });
  });

  test('when the followed worker dies, the stream sends a resync, then the next worker\'s events', async () => {
    const stream = await openEventStream(instance.adminPort);
    await stream.next((m) => dataOf(m).type === 'snapshot', 'the recent events');
    const oldest = (await instance.status()).workers[0];
    process.kill(oldest.pid, 'SIGKILL');
    const resync = await stream.next((m) => m.event === 'resync', 'a resync once another worker is followed');
    const position = dataOf(resync);
    assert.equal(position.reason, 'worker-changed');
    assert.notEqual(position.pid, oldest.pid);
    add('after.test');
    const event = await stream.next(setFor('after.test'), 'the change, from the worker now followed');
    assert.equal(event.id, `${position.pid}:${dataOf(event).seq}`);
    assert.ok(dataOf(event).seq > position.seq);
    stream.close();
  });

  test('a reload that moves the admin listener ends the streams open on the old one (they would hold it open), and the new one answers', async (t) => {
    const moving = await startFileInstance(vhosts(backend, ['app.test']), { server: { reloadTimeout: 1 }, scope: t });
    const stream = await openEventStream(moving.adminPort);
    await stream.next(() => true, 'the recent events');
    const newPort = await freePort();
    writeFileSync(moving.proxy.configPath, JSON.stringify({ ...moving.proxy.config, admin: { port: newPort } }));
    moving.proxy.signal('SIGHUP');
    await waitFor(() => stream.closed(), { timeoutMs: 15_000, message: 'the stream on the old listener ended' });
    await waitFor(async () => (await request({ port: newPort, host: '127.0.0.1', path: '/status' })).status === 200, {
      timeoutMs: 15_000,
      message: 'the admin API answering on its new port',
    });
  });
});
