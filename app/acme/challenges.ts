// A worker's side of HTTP-01 (SPEC §7): the key authorizations the proxy
// answers itself at /.well-known/acme-challenge/<token>. The master, which
// orders, tells every worker of the instance each token it sets and removes
// (IPC); with Redis, a token this instance does not hold may be another
// instance's (the ACME server reaches whichever instance the name resolves
// to), so it is looked up in Redis under acme:challenge:<token>.

import { logger } from '../../src/log.js';
import type { AcmeChallenges } from '../../src/proxy/settings.js';
import type { AcmeStore, PendingChallenge } from './store.js';

const log = logger('acme');

/** A Redis that does not answer within this is taken as "not ours": the request goes on rather than hang. */
const LOOKUP_TIMEOUT_MS = 1000;

/** A pending token past this is dropped even if its removal never came (a master gone mid-order). */
const HELD_MS = 10 * 60_000;

export class ChallengeBook implements AcmeChallenges {
  readonly #held = new Map<string, PendingChallenge & { until: number }>();

  /** `shared`: the store other instances publish their challenges in; null: this instance's own only. */
  constructor(private readonly shared: Pick<AcmeStore, 'challenge' | 'close'> | null) {}

  /** The master's word: `token` is pending for `challenge.host`, or (null) is no more. */
  set(token: string, challenge: PendingChallenge | null): void {
    if (challenge === null) this.#held.delete(token);
    else this.#held.set(token, { ...challenge, until: Date.now() + HELD_MS });
  }

  close(): Promise<void> {
    return this.shared?.close() ?? Promise.resolve();
  }

  answer(host: string, token: string, done: (keyAuthorization: string | null) => void): void {
    const held = this.#held.get(token);
    if (held !== undefined && held.until > Date.now()) return done(held.host === host ? held.keyAuthorization : null);
    if (held !== undefined) this.#held.delete(token);
    if (this.shared === null) return done(null);
    // Only a well-formed token path of plain HTTP gets here (https-policy.ts isAcmeChallenge): one GET, and a failure is "not ours".
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${LOOKUP_TIMEOUT_MS} ms`)), LOOKUP_TIMEOUT_MS)));
    Promise.race([this.shared.challenge(token), late]).finally(() => clearTimeout(timer)).then(
      (found) => done(found !== null && found.host === host ? found.keyAuthorization : null),
      (err: Error) => {
        log.warn('could not read an ACME challenge from Redis; the request goes on to the backend', { token, error: err.message });
        done(null);
      },
    );
  }
}
