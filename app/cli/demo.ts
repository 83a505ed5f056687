// The no-configuration mode (SPEC §4): a newcomer runs `switchyard` with no
// config at all and sees it route requests at once, without Redis and without
// a server of their own. It serves examples/vhosts.yaml through the file
// source, and starts the tiny backend those vhosts point at. Nothing here is
// used when a config file exists.

import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/errors.js';
import { configFromObject } from '../../src/config/load.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';

const log = logger('demo');

/** Where examples/vhosts.yaml points its backends: keep the two in step. */
export const DEMO_BACKEND_PORT = 8081;
export const DEMO_DEFAULT_PORT = 8080;
const LOOPBACK = '127.0.0.1';

/** The package root, from this module's location (app/cli under tsx, dist/app/cli once built). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'examples'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('switchyard: cannot find the package root (examples/ is missing)');
    dir = parent;
  }
  return dir;
}

/** The built-in config: the example vhosts file on 127.0.0.1:$PORT (default 8080), one worker, no Redis. */
export function demoConfig(env: NodeJS.ProcessEnv = process.env): SwitchyardConfig {
  const root = packageRoot();
  const port = env['PORT'] === undefined || env['PORT'] === '' ? DEMO_DEFAULT_PORT : Number(env['PORT']);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError([`$PORT: "${env['PORT']}" is not a port number (1-65535)`]);
  }
  const raw = { http: { port, bind: [LOOPBACK] }, server: { workers: 1 }, file: { path: join('examples', 'vhosts.yaml') } };
  return configFromObject(raw, { origin: null, baseDir: root });
}

/**
 * The demo backend: answers every request with a greeting naming the host
 * the client asked for (the proxy forwards Host unchanged), HTML for browsers,
 * one line of text for curl. Resolves even when the port is taken: the proxy
 * is still worth running, and the requests then show the 502 a dead backend gets.
 */
export async function startHelloBackend(port = DEMO_BACKEND_PORT): Promise<http.Server | null> {
  const template = readFileSync(join(packageRoot(), 'examples', 'hello-backend', 'index.html'), 'utf8');
  const server = http.createServer((req, res) => {
    const host = req.headers.host ?? 'this host';
    const html = /text\/html/.test(req.headers.accept ?? '');
    const body = html ? template.replace(/\{\{host\}\}/g, escapeHtml(host)) : `Hello from Switchyard: ${host} was routed to the demo backend.\n`;
    res.writeHead(200, { 'content-type': html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      log.warn('demo backend not started; the example vhosts go to whatever listens there', { address: `${LOOPBACK}:${port}`, error: err.code ?? err.message });
      resolve(null);
    });
    server.listen(port, LOOPBACK, () => resolve(server));
  });
}

/** What the operator reads first: what is served, and how to try it. */
export function demoBanner(config: SwitchyardConfig): string {
  const port = config.http?.port ?? DEMO_DEFAULT_PORT;
  return [
    'switchyard: no configuration file found: serving the example vhosts (no Redis).',
    `  vhosts:  ${config.file?.path ?? ''} (edit it: changes apply at once)`,
    `  proxy:   http://${LOOPBACK}:${port}   demo backend: http://${LOOPBACK}:${DEMO_BACKEND_PORT}`,
    `  try:     curl -H 'Host: www.example.com' http://${LOOPBACK}:${port}/`,
    '  Your own setup: switchyard --config config.json (see --help).',
    '',
  ].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
