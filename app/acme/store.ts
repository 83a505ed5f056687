// Where the orderer keeps what ACME gives it: the account key, the
// certificates it issued (and when they are due for renewal), the pending
// challenges, and the per-host lock. In a directory without Redis
// (file-store.ts), in Redis under `acme:` and `tls:` keys with it
// (redis-store.ts), so that every instance sharing the Redis serves them.

/** A certificate the orderer issued, as far as renewal needs it (epoch ms). */
export interface Issued {
  notBefore: number;
  notAfter: number;
  /** When it was stored (a CA may backdate notBefore by an hour): until a little after, the table may not have it yet. */
  savedAt: number;
}

/** A pending HTTP-01 challenge: the host it is for and the body to answer. */
export interface PendingChallenge {
  host: string;
  keyAuthorization: string;
}

export interface AcmeStore {
  /** The account key (PEM), made with `create` and kept when there is none yet; every caller gets the same one. */
  accountKey(create: () => Promise<string>): Promise<string>;
  /** The certificates this ACME setup issued, by host. */
  issued(): Promise<Map<string, Issued>>;
  /** Keeps a new certificate for `host`: `pem` is the chain, leaf first, then its key. Served from then on. */
  save(host: string, pem: string, issued: Issued): Promise<void>;
  /** Published for every instance (with Redis); a no-op where the master's IPC reaches every worker. */
  publishChallenge(token: string, challenge: PendingChallenge | null): Promise<void>;
  /** A challenge another instance published; null: none. */
  challenge(token: string): Promise<PendingChallenge | null>;
  /** Takes the lock on `host` for `ttlMs`: false when another instance holds it. */
  lock(host: string, ttlMs: number): Promise<boolean>;
  unlock(host: string): Promise<void>;
  close(): Promise<void>;
}

/** Two thirds of the lifetime: renewed then (SPEC §7), a third of it left to retry. */
export function renewalDue(issued: Issued, now: number): boolean {
  return now >= issued.notBefore + ((issued.notAfter - issued.notBefore) * 2) / 3;
}
