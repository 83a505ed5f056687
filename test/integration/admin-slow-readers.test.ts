// The admin listener against clients that ask and never read: an answer too
// large for the socket buffers (/frontends of many hosts) must not be held
// in the master for as long as the client pleases, while an event stream
// that is read stays open however long it runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { startFileInstance, type FileInstance } from '../helpers/admin.js';
import { startHttpBackend } from '../helpers/backends.js';
import { openEventStream } from '../helpers/sse.js';

/** Enough hosts that /frontends is several MiB: more than the kernel buffers on both sides take. */
const HOSTS = 20_000;

/** How long the admin listener lets a client take nothing. */
const IDLE_CUT_MS = 30_000;

/**
 * A client that asks for `path` and reads nothing for `stallMs`, then reads
 * what it can: its Content-Length and the body bytes it got. Python, because
 * Node cannot shrink a socket's receive buffer, and Linux lets an unread
 * one grow to 32 MiB: the answer must stay on the admin listener's side.
 */
function stalledRead(port: number, path: string, stallMs: number): Promise<{ length: number; received: number }> {
  const script = `
import socket, sys, time, re
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", ${port}))
s.sendall(b"GET ${path} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
time.sleep(${stallMs / 1000})
s.settimeout(10)
data = b""
while True:
    head = data.find(b"\\r\\n\\r\\n")
    if head >= 0:
        length = int(re.search(rb"(?i)content-length: *(\\d+)", data[:head]).group(1))
        if len(data) - head - 4 >= length: break
    try:
        chunk = s.recv(1 << 20)
    except OSError:
        break
    if not chunk: break
    data += chunk
head = data.find(b"\\r\\n\\r\\n")
print(length, len(data) - head - 4)
`;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const [length, received] = out.trim().split(' ').map(Number);
      if (length === undefined || received === undefined || Number.isNaN(received)) return reject(new Error(`no answer read: ${out}`));
      resolve({ length, received });
    });
  });
}

describe('admin listener: clients that do not read', () => {
  let instance: FileInstance;

  before(async () => {
    const backend = await startHttpBackend({ name: 'app' });
    const lines = Array.from({ length: HOSTS }, (_, i) => `  h${i}.test: { backends: [${backend.url}] }\n`);
    instance = await startFileInstance(`vhosts:\n${lines.join('')}`, {});
  });

  test('a client that never reads its /frontends answer is cut, and a read event stream stays open', { timeout: 120_000 }, async () => {
    const stream = await openEventStream(instance.adminPort);
    // Longer than a client may take nothing (twice: Node lets a write still moving when the timer first fires
    // run one more period); then it reads what the buffers still hold.
    const { length, received } = await stalledRead(instance.adminPort, '/frontends', 2 * IDLE_CUT_MS + 10_000);
    assert.ok(length > 4 << 20, `an answer larger than the socket buffers (${length} bytes)`);
    assert.ok(received < length, `cut before its end: ${received} of ${length} bytes`);
    assert.equal(stream.closed(), false, 'an event stream that is read, with only heartbeats on it, is not cut');
    stream.close();
  });
});
