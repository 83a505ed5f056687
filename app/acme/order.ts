// One certificate ordered from the ACME CA with acme-client: a new key for
// the host, a CSR naming only it, HTTP-01 only (the proxy answers it on its
// HTTP listener, wherever the CA's validation lands), the chain downloaded.

import { Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import * as acme from 'acme-client';
import type { AcmeConfig } from '../../src/config/types.js';
import type { PendingChallenge } from './store.js';

/** Where the orderer puts a challenge for every worker and instance to answer, and takes it back. */
export type ChallengeSink = (token: string, challenge: PendingChallenge | null) => Promise<void>;

export class AcmeAccount {
  readonly #client: acme.Client;

  constructor(
    private readonly config: AcmeConfig,
    accountKey: string,
  ) {
    // acme-client's one axios instance: this process talks to one directory, with its CA, and never through a proxy from the environment.
    acme.axios.defaults.proxy = false;
    if (config.ca !== null) acme.axios.defaults.httpsAgent = new Agent({ ca: readFileSync(config.ca) });
    this.#client = new acme.Client({ directoryUrl: config.directory, accountKey, backoffAttempts: 5, backoffMin: 500, backoffMax: 5000 });
  }

  static newKey(): Promise<string> {
    return acme.crypto.createPrivateEcdsaKey().then((key) => key.toString());
  }

  /** The chain (leaf first) and its private key, as one PEM text; throws with the CA's reason. */
  async order(host: string, publish: ChallengeSink): Promise<string> {
    const key = await acme.crypto.createPrivateEcdsaKey();
    const [, csr] = await acme.crypto.createCsr({ commonName: host, altNames: [host] }, key);
    const chain = await this.#client.auto({
      csr,
      email: this.config.email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // acme-client's own check would fetch the token through public DNS from here: the CA's validation is the one that counts.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type !== 'http-01') throw new Error(`only http-01 is answered, not ${challenge.type}`);
        await publish(challenge.token, { host, keyAuthorization });
      },
      challengeRemoveFn: async (_authz, challenge) => {
        await publish(challenge.token, null);
      },
    });
    return `${chain.trim()}\n${key.toString().trim()}\n`;
  }
}
