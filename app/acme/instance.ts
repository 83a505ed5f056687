// The master's side of ACME: picks the store (Redis when the instance has
// one, else the storage directory), runs the orderer, and passes each
// challenge to every worker of the instance over IPC, including a worker
// that starts while the challenge is pending.

import type { Worker } from 'node:cluster';
import type { AcmeConfig, SwitchyardConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { MasterMessage } from '../workers/messages.js';
import { FileAcmeStore, workersOwner } from './file-store.js';
import type { AcmeHosts } from './hosts.js';
import { AcmeOrderer, type AcmeStatus, type OrderOutcome } from './orderer.js';
import type { AcmeStore, PendingChallenge } from './store.js';

const log = logger('acme');
/** A worker that has not said it holds a challenge by then (busy, dying) is not waited for any longer. */
const HELD_TIMEOUT_MS = 2000;

export interface InstanceAcmeDeps {
  /** Asks a serving worker which hosts need a certificate (hosts.ts); null when none answered. */
  hosts(issued: string[]): Promise<AcmeHosts | null>;
  /** Every worker alive, of any generation: a draining one still answers plain HTTP. */
  workers(): Worker[];
  counted(outcome: OrderOutcome): void;
}

export class InstanceAcme {
  readonly #pending = new Map<string, PendingChallenge>();
  /** Challenges told to the workers, each with those that have not said they hold it yet. */
  readonly #unheld = new Map<string, { workers: Set<Worker>; done: () => void }>();
  readonly #orderer: AcmeOrderer;

  private constructor(
    readonly config: AcmeConfig,
    store: AcmeStore,
    private readonly deps: InstanceAcmeDeps,
  ) {
    this.#orderer = new AcmeOrderer(config, {
      store,
      hosts: deps.hosts,
      counted: deps.counted,
      challenges: async (token, challenge) => {
        if (challenge === null) this.#pending.delete(token);
        else this.#pending.set(token, challenge);
        // Redis first, for the other instances; then every worker here, and the CA is let validate once they hold it.
        await store.publishChallenge(token, challenge);
        await this.#tellWorkers(token, challenge);
      },
    });
  }

  /** The orderer of `config`'s https.acme, started; null when ACME is not configured (or cannot run). */
  static async start(config: SwitchyardConfig, deps: InstanceAcmeDeps): Promise<InstanceAcme | null> {
    const acme = config.https?.acme ?? null;
    if (acme === null) return null;
    if (config.redis?.sentinel !== undefined) {
      log.error('https.acme with Redis Sentinel is not supported: no certificate is ordered', {});
      return null;
    }
    let store: AcmeStore;
    if (config.redis !== null) {
      const { RedisAcmeStore } = await import('./redis-store.js');
      store = new RedisAcmeStore(config.redis.write);
    } else store = new FileAcmeStore(acme.storage, workersOwner(config.user));
    const instance = new InstanceAcme(acme, store, deps);
    instance.#orderer.start();
    log.info('ACME orderer started', { directory: acme.directory, storage: config.redis === null ? acme.storage : 'redis' });
    return instance;
  }

  /** Resolves once every worker alive said it holds the challenge (or after HELD_TIMEOUT_MS); at once for a removal. */
  #tellWorkers(token: string, challenge: PendingChallenge | null): Promise<void> {
    const workers = this.deps.workers().filter((w) => w.isConnected());
    if (challenge === null || workers.length === 0) {
      for (const worker of workers) tell(worker, token, challenge);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#unheld.delete(token);
        resolve();
      };
      const timer = setTimeout(done, HELD_TIMEOUT_MS);
      this.#unheld.set(token, { workers: new Set(workers), done });
      for (const worker of workers) tell(worker, token, challenge);
    });
  }

  /** A worker's word that it answers `token` now. */
  held(worker: Worker, token: string): void {
    const unheld = this.#unheld.get(token);
    if (unheld === undefined) return;
    unheld.workers.delete(worker);
    if (unheld.workers.size === 0) unheld.done();
  }

  status(): AcmeStatus {
    return this.#orderer.status();
  }

  /** A worker that just listened learns the challenges pending now. */
  greet(worker: Worker): void {
    for (const [token, challenge] of this.#pending) tell(worker, token, challenge);
  }

  stop(): Promise<void> {
    return this.#orderer.stop();
  }
}

function tell(worker: Worker, token: string, challenge: PendingChallenge | null): void {
  if (worker.isConnected()) worker.send({ type: 'acme-challenge', token, challenge } satisfies MasterMessage);
}
