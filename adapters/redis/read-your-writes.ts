// The read-your-writes barrier of the keyspace and tracking modes: a request,
// or a TLS handshake (for its certificate, SPEC §7), waits until every change
// Redis announced before it arrived has been re-read (SPEC §1). Redis may send the notification after the writer's own reply, so
// with `readYourWrites` each batch of requests first waits for a PING on the
// notification connection (PingBarrier), then for the re-reads of its host's
// keys (its frontends', their `options:` hashes', its dead sets' and
// certificates', including those whose TTL just ran out, expiries.ts); and, after a
// database replaced as a whole (tripwire.ts), for the resync that reads it again. Never longer than syncTimeoutMs: a hung Redis must not
// hold requests.

import type { Logger } from '../../src/log.js';
import type { FrontendExpiries } from './expiries.js';
import type { ChangeFeed } from './feed.js';
import { deadNames, type KeySpace } from './keys.js';
import type { KeyRereads } from './rereads.js';
import { withTimeout } from './timeout.js';

export class ReadYourWrites {
  constructor(
    private readonly feed: ChangeFeed,
    private readonly rereads: KeyRereads,
    private readonly keys: KeySpace,
    private readonly pending: {
      /** Pending while the database was replaced and not read again yet. */
      replaced: () => Promise<void> | undefined;
      /** Frontend keys to re-read once their TTL has run out. */
      expiries: FrontendExpiries;
    },
    private readonly options: { readYourWrites: boolean; syncTimeoutMs: number },
    private readonly log: Logger,
  ) {}

  /** ConfigSource.whenCurrent: false when nothing is pending for `host` and `path` (`ready` is then not called). */
  whenCurrent(host: string, ready: () => void, path = ''): boolean {
    if (this.options.readYourWrites && this.feed.afterBarrier(() => this.#afterRereads(host, path, ready) || ready())) return true;
    return this.#afterRereads(host, path, ready);
  }

  /** Resolves when `work` settles or after syncTimeoutMs, whichever comes first; never rejects. */
  bounded(work: Promise<unknown>): Promise<void> {
    return withTimeout(work, this.options.syncTimeoutMs, 'read-your-writes wait').then(
      () => undefined,
      (err: Error) => this.log.warn('serving the last known route', { reason: err.message }),
    );
  }

  /** Calls `ready` after the resync of a replaced database and the re-reads under way for the keys of `host` and `path`; false when there are none. */
  #afterRereads(host: string, path: string, ready: () => void): boolean {
    const replaced = this.pending.replaced();
    if (replaced === undefined) return this.#afterKeyRereads(host, path, ready);
    void replaced.then(() => this.#afterKeyRereads(host, path, ready) || ready());
    return true;
  }

  #afterKeyRereads(host: string, path: string, ready: () => void): boolean {
    this.pending.expiries.check();
    if (this.rereads.size === 0) return false;
    const dead = deadNames(host, path).map((name) => this.keys.dead(name));
    const wait = this.rereads.pending([...this.keys.candidates(host, path), ...this.keys.optionCandidates(host, path), ...dead, ...this.keys.certificates(host)]);
    if (wait === undefined) return false;
    void this.bounded(wait).then(ready);
    return true;
  }
}
