// A real ACME server for the tests: Debian's pebble, with pebble-challtestsrv
// as its DNS so that every test name resolves to 127.0.0.1 (no AAAA: the
// proxy listens on IPv4 loopback). Both on free loopback ports, stopped at
// cleanup. Pebble validates HTTP-01 for real, on `httpPort` (the proxy's).

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { onCleanup, type CleanupScope } from './cleanup.js';
import { freePort } from './ports.js';
import { spawnCaptured } from './process.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** Pebble's own TLS certificate (self-signed): the `ca` the proxy trusts the directory with. */
  caPath: string;
  /** Pebble's issuing root (PEM), from its management API. */
  root(): Promise<string>;
  /** Points `host` at `address` in the fake DNS (e.g. 127.0.0.2, where nothing listens). */
  addA(host: string, address: string): Promise<void>;
  logs(): string;
}

export interface PebbleOptions {
  /** The port pebble connects to for HTTP-01: the proxy's HTTP port. */
  httpPort: number;
  /** Lifetime of the certificates it issues (pebble's default: about five years). */
  validitySeconds?: number;
  scope?: CleanupScope;
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
      })
      .on('error', reject);
  });
}

async function post(url: string, body: object): Promise<void> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
}

/** Starts pebble-challtestsrv then pebble; resolves once pebble's directory answers. */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = tempDir('pebble', opts.scope);
  const caPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyPath, '-out', caPath,
  ], { stdio: 'ignore' });

  const [dnsPort, challManagement, acmePort, managementPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const chall = spawnCaptured('pebble-challtestsrv', [
    '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
    '-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${challManagement}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '',
  ]);
  onCleanup(() => chall.stop('SIGTERM', 3000), opts.scope);

  const configPath = path.join(dir, 'pebble.json');
  writeFileSync(configPath, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: caPath,
      privateKey: keyPath,
      httpPort: opts.httpPort,
      tlsPort: await freePort(),
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(opts.validitySeconds === undefined ? {} : { certificateValidityPeriod: opts.validitySeconds }),
    },
  }));
  const pebble = spawnCaptured('pebble', ['-config', configPath, '-dnsserver', `127.0.0.1:${dnsPort}`], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
  });
  onCleanup(() => pebble.stop('SIGTERM', 3000), opts.scope);
  const ca = readFileSync(caPath, 'utf8');
  const directory = `https://127.0.0.1:${acmePort}/dir`;
  await waitFor(() => get(directory, ca).then(() => true), { timeoutMs: 15_000, message: `pebble directory; logs:\n${pebble.output()}` });
  await waitFor(() => fetch(`http://127.0.0.1:${challManagement}/clear-request-history`, { method: 'POST', body: '{"host":"x","type":"dns"}' }).then(() => true), {
    timeoutMs: 10_000,
    message: 'challtestsrv management',
  });
  return {
    directory,
    caPath,
    root: () => get(`https://127.0.0.1:${managementPort}/roots/0`, ca),
    addA: (host, address) => post(`http://127.0.0.1:${challManagement}/add-a`, { host: host.endsWith('.') ? host : `${host}.`, addresses: [address] }),
    logs: () => `${pebble.output()}\n--- challtestsrv ---\n${chall.output()}`,
  };
}
