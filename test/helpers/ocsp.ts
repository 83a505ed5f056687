// OCSP for the stapling tests: a real responder (`openssl ocsp` over the
// test CA's index.txt, which `openssl ca` maintains), one that accepts and
// never answers, and `openssl ocsp -respin` to read what a client was stapled.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { onCleanup } from './cleanup.js';
import type { TestCa, TestCertificate } from './certificates.js';
import { spawnCaptured } from './process.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

export interface OcspResponder {
  /** http://127.0.0.1:port, for the leaves' authorityInfoAccess. */
  url: string;
  /** Requests it received so far. */
  requests(): number;
}

/** The AIA extension naming `url` as the OCSP responder (for makeLeaf's `extensions`). */
export const ocspExtension = (url: string): string => `authorityInfoAccess=OCSP;URI:${url}`;

/**
 * `openssl ocsp` answering for `ca` on `port` (from freePort), signing with
 * the CA itself, responses valid a day. Start it once the leaves are made:
 * it reads index.txt again only when its mtime (in seconds) changes.
 */
export async function startOcspResponder(ca: TestCa, port: number): Promise<OcspResponder> {
  const proc = spawnCaptured('openssl', ['ocsp', '-index', 'index.txt', '-port', String(port), '-rsigner', 'ca.pem', '-rkey', 'ca.key', '-CA', 'ca.pem', '-ndays', '1', '-ignore_err'], { cwd: ca.dir });
  onCleanup(() => proc.stop('SIGTERM', 2000));
  await waitFor(() => proc.output().includes('waiting for OCSP client connections') || proc.hasExited(), { message: 'openssl ocsp listening' });
  if (proc.hasExited()) throw new Error(`openssl ocsp exited: ${proc.output()}`);
  return { url: `http://127.0.0.1:${port}`, requests: () => proc.output().split('Received request').length - 1 };
}

/** A responder address that accepts connections and never answers (a hung responder). */
export async function startSilentResponder(): Promise<{ url: string; connections(): number }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections };
}

/** Revokes a leaf in the CA's database (the responder reads it again when it changes). */
export function revoke(ca: TestCa, leaf: TestCertificate): void {
  execFileSync('openssl', ['ca', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-revoke', leaf.file], { cwd: ca.dir, stdio: 'pipe' });
}

/** What `openssl ocsp -respin` says of a stapled response for `leaf`: its output, and whether it verified against the CA. */
export function readStaple(ca: TestCa, leaf: TestCertificate, staple: Buffer): { text: string; verified: boolean } {
  const file = path.join(tempDir('staple'), 'staple.der');
  writeFileSync(file, staple);
  const r = spawnSync('openssl', ['ocsp', '-respin', file, '-issuer', 'ca.pem', '-cert', leaf.file, '-CAfile', 'ca.pem'], { cwd: ca.dir, encoding: 'utf8' });
  const text = `${r.stdout}${r.stderr}`;
  return { text, verified: r.status === 0 && text.includes('Response verify OK') };
}
