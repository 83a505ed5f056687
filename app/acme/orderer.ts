// The instance's one ACME orderer (SPEC §7). It runs in the master: the one
// process an instance has for its whole life (workers are replaced, reloads
// bring new generations), so there is never a second orderer of the same
// instance racing it, and a worker's death never interrupts an order. The
// master holds no table: what needs a certificate is asked of a worker
// (hosts.ts), which answers from its table. Hosts are ordered one at a
// time, in the background; a failure backs the host off, doubling.

import { logger } from '../../src/log.js';
import type { AcmeConfig } from '../../src/config/types.js';
import type { AcmeHosts } from './hosts.js';
import { leafDates } from './file-store.js';
import { AcmeAccount, type ChallengeSink } from './order.js';
import { renewalDue, type AcmeStore, type Issued } from './store.js';

const log = logger('acme');

/** A failed host waits at most this long before it is tried again. */
const MAX_BACKOFF_MS = 24 * 3600_000;
/**
 * A certificate stored this recently may not be in the table yet (a tls: key
 * being re-read, a file being noticed): a host the table lacks is not ordered
 * again within it. After it, a host the table lacks is ordered again even if
 * we issued it (its tls: key or file was removed).
 */
const RECENT_MS = 60_000;
/** Longer than any order takes: a lock left by an instance that died mid-order frees itself. */
const LOCK_TTL_MS = 10 * 60_000;

export type OrderOutcome = 'issued' | 'failed';

export interface OrdererDeps {
  store: AcmeStore;
  /** A worker's answer (hosts.ts) for the hosts issued before; null when no worker answered. */
  hosts(issued: string[]): Promise<AcmeHosts | null>;
  /** Every worker of the instance (and, through the store, every instance) answers the challenge. */
  challenges: ChallengeSink;
  counted(outcome: OrderOutcome): void;
  /** The CA's side, given the account key (tests put a stand-in here); default: acme-client (order.ts). */
  account?: (accountKey: string, config: AcmeConfig) => Pick<AcmeAccount, 'order'>;
}

/** What /status shows of the orderer. */
export interface AcmeStatus {
  directory: string;
  /** When the last look for hosts ended (ISO 8601); null before the first. */
  lastCheckAt: string | null;
  /** The host being ordered now; null: none. */
  ordering: string | null;
  /** Hosts whose last order failed, with when they are tried again. */
  backoff: { host: string; failures: number; retryAt: string }[];
}

interface Backoff {
  failures: number;
  until: number;
}

export class AcmeOrderer {
  readonly #backoff = new Map<string, Backoff>();
  #account: Promise<Pick<AcmeAccount, 'order'>> | null = null;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  #stopped = false;
  #lastCheckAt: number | null = null;
  #ordering: string | null = null;

  constructor(
    private readonly config: AcmeConfig,
    private readonly deps: OrdererDeps,
  ) {}

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.config.checkIntervalMs).unref();
    void this.check();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    await this.deps.store.close();
  }

  /** One look for hosts needing a certificate, unless the previous one is still ordering (then that one's end). */
  check(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running ??= this.#round()
      .catch((err: Error) => log.warn('ACME check failed; trying again at the next', { error: err.message }))
      .finally(() => {
        this.#running = null;
        this.#lastCheckAt = Date.now();
      });
    return this.#running;
  }

  async #round(): Promise<void> {
    const issued = await this.deps.store.issued();
    const now = Date.now();
    const due = [...issued].filter(([, dates]) => renewalDue(dates, now)).map(([host]) => host);
    const hosts = await this.deps.hosts(due);
    if (hosts === null) return; // no worker to ask yet
    // A certificate issued a moment ago may not have reached the table yet: not missing.
    const missing = hosts.missing.filter((host) => !justSaved(issued.get(host), now));
    const wanted = new Map<string, Reason>([
      // One we issued and still current, yet not in the table: its tls: key or file was removed, or it was refused.
      ...missing.map((host): [string, Reason] => [host, isCurrent(issued.get(host), now) ? 'reissue' : 'new']),
      ...hosts.configured.map((host): [string, Reason] => [host, 'renewal']),
    ]);
    for (const [host, reason] of wanted) {
      if (this.#stopped) return;
      if ((this.#backoff.get(host)?.until ?? 0) > Date.now()) continue;
      await this.#orderLocked(host, reason);
    }
  }

  /** Orders for `host` unless another instance holds its lock or has just issued it. */
  async #orderLocked(host: string, reason: Reason): Promise<void> {
    const { store } = this.deps;
    if (!(await store.lock(host, LOCK_TTL_MS))) return log.debug('another instance is ordering this host', { host });
    try {
      // Read again under the lock: the instance that held it before may have issued it.
      const now = Date.now();
      const issued = (await store.issued()).get(host);
      if (reason === 'renewal' ? isCurrent(issued, now) : justSaved(issued, now)) return;
      await this.#order(host, reason);
    } finally {
      await store.unlock(host).catch((err: Error) => log.warn('could not release an ACME lock; it expires', { host, error: err.message }));
    }
  }

  status(): AcmeStatus {
    return {
      directory: this.config.directory,
      lastCheckAt: this.#lastCheckAt === null ? null : new Date(this.#lastCheckAt).toISOString(),
      ordering: this.#ordering,
      backoff: [...this.#backoff].map(([host, { failures, until }]) => ({ host, failures, retryAt: new Date(until).toISOString() })),
    };
  }

  async #order(host: string, reason: Reason): Promise<void> {
    const started = Date.now();
    this.#ordering = host;
    try {
      const account = await this.#accountOnce();
      const pem = await account.order(host, this.deps.challenges);
      const dates = leafDates(pem);
      if (dates === null) throw new Error('the CA sent no readable certificate');
      await this.deps.store.save(host, pem, { ...dates, savedAt: Date.now() });
      this.deps.counted('issued');
      const notAfter = new Date(dates.notAfter).toISOString();
      if (reason !== 'reissue') {
        this.#backoff.delete(host);
        return log.info('ACME certificate issued', { host, outcome: 'issued', reason, notAfter, ms: Date.now() - started });
      }
      // Should the table keep refusing it (see the certificate logs), the CA's rate limits are spared: backed off as a failure.
      const { failures, wait } = this.#backOff(host);
      log.warn('ACME certificate issued again: the one issued before is not in the table', { host, outcome: 'issued', reason, notAfter, failures, retryInS: Math.round(wait / 1000) });
    } catch (err) {
      const { failures, wait } = this.#backOff(host);
      this.deps.counted('failed');
      log.warn('ACME order failed; backing off', { host, outcome: 'failed', reason: (err as Error).message, order: reason, failures, retryInS: Math.round(wait / 1000) });
    } finally {
      this.#ordering = null;
    }
  }

  /** One more failure in a row for `host`: the next try waits twice as long as the last. */
  #backOff(host: string): { failures: number; wait: number } {
    const failures = (this.#backoff.get(host)?.failures ?? 0) + 1;
    const wait = Math.min(this.config.retryAfterMs * 2 ** (failures - 1), MAX_BACKOFF_MS);
    this.#backoff.set(host, { failures, until: Date.now() + wait });
    return { failures, wait };
  }

  /** The account, registered at the first order; a failure is retried at the next. */
  #accountOnce(): Promise<Pick<AcmeAccount, 'order'>> {
    const make = this.deps.account ?? ((key, config) => new AcmeAccount(config, key));
    this.#account ??= this.deps.store.accountKey(AcmeAccount.newKey).then((key) => make(key, this.config));
    this.#account.catch(() => (this.#account = null));
    return this.#account;
  }
}

/** Why a host is ordered: the table has no certificate for it (none of ours, or ours is not there), or ours is due. */
type Reason = 'new' | 'reissue' | 'renewal';

/** Stored a moment ago and current: the table is about to have it. */
function justSaved(issued: Issued | undefined, now: number): boolean {
  return issued !== undefined && now - issued.savedAt < RECENT_MS && isCurrent(issued, now);
}

/** Issued, not expired, not due for renewal. */
function isCurrent(issued: Issued | undefined, now: number): boolean {
  return issued !== undefined && issued.notAfter > now && !renewalDue(issued, now);
}
