import net from 'node:net';
import { createClient } from '@redis/client';
import { onCleanup, type CleanupScope } from './cleanup.js';
import { freePort } from './ports.js';
import { spawnCaptured, type Spawned } from './process.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

function makeClient(url: string) {
  // reconnects are expected (kill/restart tests): retry every 50 ms, quietly.
  const client = createClient({ url, socket: { reconnectStrategy: () => 50, connectTimeout: 2000 } });
  client.on('error', () => {});
  return client;
}

type Client = ReturnType<typeof makeClient>;

export interface Subscription {
  /** Every message received so far, in order. */
  messages: string[];
  close(): Promise<void>;
}

export interface RedisServer {
  port: number;
  url: string;
  /** Runs one command; arrays are joined with '\n', nil is ''. Rejects on an error reply. */
  cmd(...args: (string | number)[]): Promise<string>;
  /** Runs one command and returns the reply as node-redis gives it (arrays stay arrays). */
  cmdRaw(...args: (string | number)[]): Promise<unknown>;
  /** Convenience for LRANGE/SMEMBERS-style replies. */
  cmdList(...args: (string | number)[]): Promise<string[]>;
  subscribe(channel: string, onMessage?: (message: string) => void): Promise<Subscription>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), wait for exit. */
  kill(): Promise<void>;
  /** Restarts on the same port with a fresh, empty dataset and the same args. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis accepts TCP connections but never answers (a hung server). */
  freeze(): void;
  thaw(): void;
  logs(): string;
}

export interface StartRedisOptions {
  /** Extra redis-server arguments, e.g. ['--rename-command', 'CONFIG', '']. */
  args?: string[];
  scope?: CleanupScope;
}

/** Answers true when a RESP PING on `port` gets +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * A command never hangs a test: a frozen, killed or password-protected
 * server makes node-redis queue commands forever, so fail loudly instead.
 */
const COMMAND_TIMEOUT_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no reply within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function replyToString(reply: unknown): string {
  if (reply === null || reply === undefined) return '';
  if (Array.isArray(reply) || reply instanceof Set) return [...reply].map(replyToString).join('\n');
  if (Buffer.isBuffer(reply)) return reply.toString();
  return String(reply);
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const extra = opts.args ?? [];
  let proc: Spawned | undefined;
  let frozen = false;
  const history: string[] = [];

  const launch = async (): Promise<void> => {
    const dir = tempDir('redis', opts.scope);
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', dir, '--daemonize', 'no', ...extra);
    const started = spawnCaptured('redis-server', args);
    proc = started;
    await waitFor(
      async () => {
        if (started.hasExited()) throw new Error(`redis-server exited:\n${started.output()}`);
        return ping(port);
      },
      { timeoutMs: 10_000, intervalMs: 20, message: `redis-server on ${port} answering PING` },
    );
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const current = proc;
    if (!current) return;
    if (frozen) current.signal('SIGCONT');
    frozen = false;
    await current.stop(signal, 5000);
    history.push(current.output());
    proc = undefined;
  };

  // One client for commands, created lazily; it reconnects on its own after
  // a restart (offline commands are queued until then).
  let client: Client | undefined;
  let connecting: Promise<Client> | undefined;
  const getClient = (): Promise<Client> => {
    connecting ??= (async () => {
      const c = makeClient(url);
      client = c;
      await c.connect();
      return c;
    })();
    return connecting;
  };
  const subscriptions = new Set<Subscription>();

  const server: RedisServer = {
    port,
    url,
    cmdRaw: (...args) => withTimeout(
      (async () => (await getClient()).sendCommand(args.map(String)))(),
      COMMAND_TIMEOUT_MS,
      `redis ${port}: ${args.join(' ')}`,
    ),
    cmd: async (...args) => replyToString(await server.cmdRaw(...args)),
    cmdList: async (...args) => {
      const reply = await server.cmdRaw(...args);
      return Array.isArray(reply) || reply instanceof Set ? [...reply].map(replyToString) : [];
    },
    subscribe: async (channel, onMessage) => {
      const sub = makeClient(url);
      await sub.connect();
      const messages: string[] = [];
      await sub.subscribe(channel, (message: string) => {
        messages.push(message);
        onMessage?.(message);
      });
      const subscription: Subscription = {
        messages,
        close: async () => {
          subscriptions.delete(subscription);
          sub.destroy();
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    restart: async () => {
      await halt('SIGTERM');
      await launch();
    },
    freeze: () => {
      proc?.signal('SIGSTOP');
      frozen = true;
    },
    thaw: () => {
      proc?.signal('SIGCONT');
      frozen = false;
    },
    logs: () => [...history, proc?.output() ?? ''].join(''),
  };

  await launch();
  onCleanup(async () => {
    for (const s of [...subscriptions]) await s.close();
    client?.destroy();
    await halt('SIGTERM');
  }, opts.scope);
  return server;
}
