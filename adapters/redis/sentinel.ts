// Redis Sentinel: which server is the master now, and when that changes.
// Follows the Sentinel client guidelines (redis.io, "Sentinel client spec"):
// ask the sentinels in order and believe the first that answers, confirm with
// ROLE that the server it names really is a master (a partitioned sentinel can
// name a demoted one), and ask again on +switch-master, when the proxy loses
// its Redis connection, and periodically: pub/sub is fire and forget, so the
// notification only triggers a query and the query's answer is the truth.

import type { RedisEndpoint, SentinelConfig, SentinelNode } from '../../src/config/types.js';
import type { Logger } from '../../src/log.js';
import { newClient, withTimeout } from './client.js';

/** Called with the new master and the one it replaces (null the first time). */
export type MasterListener = (master: RedisEndpoint, previous: RedisEndpoint | null) => void;

/** Connect + one command, per sentinel or server asked; a hung one must not stall the search. */
const QUERY_TIMEOUT_MS = 2000;
/** Asked this often even without a notification: a missed +switch-master must not strand the proxy. */
const POLL_INTERVAL_MS = 5000;
/** Pause before going round the sentinels again when none accepted the subscription. */
const RESUBSCRIBE_DELAY_MS = 1000;

interface Target {
  host: string;
  port: number;
  password?: string | undefined;
}

/** The endpoint every Redis connection uses for the master at `addr`. */
export function masterEndpoint(config: SentinelConfig, addr: SentinelNode): RedisEndpoint {
  const auth = config.masterPassword !== undefined ? ':***@' : '';
  const fragment = config.prefix === '' ? '' : `#${config.prefix}`;
  const endpoint: RedisEndpoint = {
    host: addr.host,
    port: addr.port,
    db: config.db,
    prefix: config.prefix,
    display: `redis://${auth}${hostPort(addr)}/${config.db}${fragment}`,
  };
  if (config.masterPassword !== undefined) endpoint.password = config.masterPassword;
  return endpoint;
}

export function hostPort(addr: { host: string; port: number }): string {
  return `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
}

export class SentinelWatcher {
  #master: RedisEndpoint | null = null;
  readonly #listeners = new Set<MasterListener>();
  #subscriber: { destroy(): void } | null = null;
  #poll: NodeJS.Timeout | undefined;
  #checking: Promise<void> | null = null;
  #again = false;
  #problem = '';
  #preferred: SentinelNode | null = null;
  #started = false;
  #stopped = false;

  constructor(
    private readonly config: SentinelConfig,
    private readonly log: Logger,
  ) {}

  /** The master last confirmed, or null before the first answer. */
  get master(): RedisEndpoint | null {
    return this.#master;
  }

  /** Why no master is known (empty once one was found). */
  get problem(): string {
    return this.#problem;
  }

  onChange(listener: MasterListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#poll = setInterval(() => this.recheck(), POLL_INTERVAL_MS).unref();
    void this.#subscribeLoop();
    this.recheck();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    this.#listeners.clear();
    this.#subscriber?.destroy();
    // A query under way finishes within QUERY_TIMEOUT_MS and changes nothing once stopped.
  }

  /** Ask the sentinels again. Calls during a query coalesce into one more query (latest wins). */
  recheck(): void {
    if (this.#stopped || !this.#started) return;
    if (this.#checking !== null) {
      this.#again = true;
      return;
    }
    this.#checking = (async () => {
      do {
        this.#again = false;
        await this.#check();
      } while (this.#again && !this.#stopped);
    })().finally(() => (this.#checking = null));
  }

  async #check(): Promise<void> {
    const found = await this.#resolve();
    if (found === null || this.#stopped) return;
    const previous = this.#master;
    if (previous !== null && previous.host === found.host && previous.port === found.port) return;
    this.#master = found;
    if (previous === null) {
      this.log.info('redis master found via sentinel', { name: this.config.name, master: found.display });
    } else {
      this.log.warn(`redis master changed from ${hostPort(previous)} to ${hostPort(found)} via sentinel`, { name: this.config.name });
    }
    for (const listener of this.#listeners) {
      try {
        listener(found, previous);
      } catch (err) {
        this.log.error('following the new redis master failed', { error: (err as Error).message });
      }
    }
  }

  /** The master named by the first sentinel that answers with a confirmed master; null when none does. */
  async #resolve(): Promise<RedisEndpoint | null> {
    const problems: string[] = [];
    for (const node of this.#order()) {
      let addr: SentinelNode | null;
      try {
        addr = await this.#ask(node);
      } catch (err) {
        problems.push(`sentinel ${hostPort(node)}: ${(err as Error).message}`);
        continue;
      }
      if (addr === null) {
        problems.push(`sentinel ${hostPort(node)} does not monitor "${this.config.name}"`);
        continue;
      }
      // The master already followed needs no new confirmation; a newly named one does.
      const known = this.#master;
      if (known !== null && known.host === addr.host && known.port === addr.port) return this.#settled(node, known, problems);
      const candidate = masterEndpoint(this.config, addr);
      const role = await this.#role(candidate).catch((err: Error) => `unreachable (${err.message})`);
      if (role === 'master') return this.#settled(node, candidate, problems);
      problems.push(`sentinel ${hostPort(node)} names ${hostPort(addr)}, whose role is ${role}`);
    }
    const problem = problems.join('; ');
    if (problem !== this.#problem) {
      const keeping = this.#master === null ? 'no redis master known yet' : `keeping ${hostPort(this.#master)}`;
      this.log.warn(`no sentinel named a usable redis master; ${keeping}`, { name: this.config.name, problems: problem });
    }
    this.#problem = problem;
    return null;
  }

  /** The sentinel that answered last goes first (the client guidelines' advice), then the others as configured. */
  #order(): SentinelNode[] {
    const first = this.#preferred;
    return first === null ? this.config.nodes : [first, ...this.config.nodes.filter((n) => n !== first)];
  }

  #settled(node: SentinelNode, master: RedisEndpoint, skipped: string[]): RedisEndpoint {
    if (skipped.length > 0) this.log.warn(`sentinel skipped; ${hostPort(node)} answered`, { name: this.config.name, problems: skipped.join('; ') });
    this.#preferred = node;
    this.#problem = '';
    return master;
  }

  async #ask(node: SentinelNode): Promise<SentinelNode | null> {
    const target = { host: node.host, port: node.port, password: this.config.password };
    const reply = await oneShot(target, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.config.name]);
    if (reply === null) return null;
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`unexpected answer ${JSON.stringify(reply)}`);
    const port = Number(reply[1]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`unexpected answer ${JSON.stringify(reply)}`);
    return { host: String(reply[0]), port };
  }

  async #role(master: RedisEndpoint): Promise<string> {
    const reply = await oneShot(master, ['ROLE']);
    return Array.isArray(reply) ? String(reply[0]) : 'unknown';
  }

  /** Stays subscribed to +switch-master on one sentinel, moving to the next when it goes away. */
  async #subscribeLoop(): Promise<void> {
    while (!this.#stopped) {
      for (const node of this.config.nodes) {
        if (this.#stopped) return;
        const lost = await this.#subscribe(node).catch((err: Error) => {
          this.log.debug('cannot subscribe to sentinel', { sentinel: hostPort(node), error: err.message });
          return null;
        });
        if (lost === null) continue;
        await lost;
        if (!this.#stopped) this.log.info('sentinel subscription lost; subscribing again', { sentinel: hostPort(node) });
      }
      await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_DELAY_MS).unref());
    }
  }

  /** Resolves once subscribed, with a promise that settles when the subscription is lost. */
  async #subscribe(node: SentinelNode): Promise<Promise<void>> {
    const client = newClient({
      socket: { host: node.host, port: node.port, connectTimeout: QUERY_TIMEOUT_MS, keepAlive: true, reconnectStrategy: false },
      password: this.config.password,
    });
    // Without reconnects, node-redis reports a dropped connection as an error with the client closed.
    const lost = new Promise<void>((resolve) => {
      client.on('error', () => !client.isOpen && resolve());
      client.on('end', () => resolve());
    });
    try {
      await withTimeout(client.connect(), QUERY_TIMEOUT_MS, 'connect');
      await withTimeout(
        client.subscribe('+switch-master', (message: string) => this.#onSwitch(message)),
        QUERY_TIMEOUT_MS,
        'SUBSCRIBE',
      );
    } catch (err) {
      client.destroy();
      throw err;
    }
    if (this.#stopped) {
      client.destroy();
      return Promise.resolve();
    }
    this.#subscriber = client;
    this.recheck(); // a switch announced while no subscription was up would otherwise wait for the poll
    return lost;
  }

  /** "+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>" */
  #onSwitch(message: string): void {
    const [name] = message.split(' ');
    if (name !== this.config.name) return;
    this.log.info('sentinel announced a failover', { announcement: message });
    this.recheck();
  }
}

/** Connects, runs one command, disconnects. Rejects on any failure or after the timeout. */
async function oneShot(target: Target, command: string[]): Promise<unknown> {
  const client = newClient({
    socket: { host: target.host, port: target.port, connectTimeout: QUERY_TIMEOUT_MS, reconnectStrategy: false },
    password: target.password,
    disableOfflineQueue: true,
  });
  client.on('error', () => {}); // the failure reaches the caller as a rejection
  try {
    await withTimeout(client.connect(), QUERY_TIMEOUT_MS, 'connect');
    return await withTimeout(client.sendCommand(command), QUERY_TIMEOUT_MS, command[0] ?? 'command');
  } finally {
    client.destroy();
  }
}
