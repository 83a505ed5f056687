// The master's side of the ticket key: runs the rotation of the serving
// config and passes every key in force to every worker of the instance,
// including one that listens after a rotation it may have missed.

import type { Worker } from 'node:cluster';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { logger } from '../../src/log.js';
import type { MasterMessage } from '../workers/messages.js';
import { freshTicketKey } from './key.js';
import { TicketKeyRotation, type TicketKeySettings } from './rotation.js';

const log = logger('tls');

/**
 * The ticket key's settings in `config`. With Sentinel there is no fixed
 * Redis to share it through: the instance rotates its own.
 */
function ticketKeySettings(config: SwitchyardConfig): TicketKeySettings {
  return { rotationMs: config.https?.ticketKeyRotationMs ?? null, redis: config.redis?.write ?? null };
}

export class InstanceTicketKeys {
  #rotation: TicketKeyRotation;

  constructor(
    config: SwitchyardConfig,
    /** Every worker alive, of any generation. */
    private readonly workers: () => Worker[],
  ) {
    this.#rotation = new TicketKeyRotation(ticketKeySettings(config), freshTicketKey(), (key) => this.#tellAll(key));
  }

  /** The key in force (base64), for a worker being forked. */
  get current(): string {
    return this.#rotation.current.key;
  }

  /** Takes the shared key when Redis gives it in time (see redis-store.ts); never fails. */
  async start(config: SwitchyardConfig): Promise<void> {
    if (config.https !== null && config.redis?.sentinel !== undefined) log.warn('with Redis Sentinel the TLS ticket key is not shared across instances: each rotates its own', {});
    await this.#rotation.start();
  }

  /** A reload applied: the rotation follows its config (period, Redis); the key in force stays. */
  async follow(config: SwitchyardConfig): Promise<void> {
    const settings = ticketKeySettings(config);
    const running = this.#rotation;
    if (JSON.stringify(running.settings) === JSON.stringify(settings)) return;
    this.#rotation = new TicketKeyRotation(settings, running.current, (key) => this.#tellAll(key));
    await running.stop();
    await this.#rotation.start();
  }

  /** A worker now listens: a rotation between its fork and now may have come before it took messages. */
  greet(worker: Worker): void {
    tell(worker, this.current);
  }

  #tellAll(key: string): void {
    for (const worker of this.workers()) tell(worker, key);
  }

  async stop(): Promise<void> {
    await this.#rotation.stop();
  }
}

function tell(worker: Worker, key: string): void {
  if (worker.isConnected()) worker.send({ type: 'ticket-key', key } satisfies MasterMessage);
}
