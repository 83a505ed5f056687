// What this source last told the table about its `tls:` certificates, and
// which values it keeps out (SPEC §7). Every value read runs through
// checkCertificate before it can be emitted; a bad one is logged once and
// quarantined while the last good certificate stored under the same name
// stays served. Values are known by a digest of their bytes: a re-read that
// finds a key as it was emits nothing and checks nothing (a check costs
// about a millisecond; a digest a few microseconds), and a resync reuses the
// certificate already in force instead of holding a second copy of its PEM.

import { createHash } from 'node:crypto';
import type { Logger } from '../../src/log.js';
import { checkCertificate, uncheckedCertificate } from '../../src/tls/certificate.js';
import { assertNever, type CertificateSpec, type ConfigEvent, type SourceName } from '../../src/vocabulary/events.js';
import type { QuarantinedCertificate } from '../../src/vocabulary/source.js';

/** A `tls:` key as read: absent, of another type than a string, or a string (its digest, its text on demand). */
export type StoredCertificate =
  | { kind: 'absent' }
  | { kind: 'not-a-string' }
  | { kind: 'pem'; digest: string; text: () => string };

/** What a stored value means: nothing, a certificate to serve, or one to keep out (and why). */
export type Verdict =
  | { kind: 'absent' }
  | { kind: 'good'; digest: string; certificate: CertificateSpec }
  /** `checkedAt`: when the value was checked (a value known by its digest is not checked again for a while). */
  | { kind: 'bad'; digest: string; reason: string; checkedAt: number };

/** A snapshot's `tls:` key and what its value means, judged as the snapshot was read. */
export interface JudgedCertificate {
  name: string;
  verdict: Verdict;
}

/**
 * How many values a snapshot checks before it defers the rest's checks
 * (about a millisecond each: 100,000 certificates would hold a starting
 * worker for minutes). A deferred one is checked by the first handshake
 * that selects it, or in the background (RedisSource).
 */
export const SNAPSHOT_CHECKS = 1000;

/** The checks a snapshot may still make before it defers (see SNAPSHOT_CHECKS). */
export interface CheckBudget {
  checks: number;
}

/** A time-dependent rejection (not valid yet) may not hold for ever: a bad value is checked again after this long. */
const RECHECK_BAD_MS = 60_000;

const NOT_A_STRING = 'not a string (a tls: key holds the PEM chain then the private key)';
/**
 * A handshake's SNI name is looked up in lowercase, and only the lowercase
 * key can be read for it (per request, or waited for after a write): a name
 * in other case could not be followed with read-your-writes.
 */
const UPPERCASE = 'the name is not in lowercase (SNI names are matched in lowercase)';

/** SHA-256 of a value's bytes (a string is taken as UTF-8, as Redis returns it). */
export function digestOf(value: Buffer | string): string {
  return createHash('sha256').update(value).digest('base64');
}

interface Held {
  digest: string;
  certificate: CertificateSpec;
}

interface Kept {
  digest: string;
  reason: string;
  checkedAt: number;
}

export class EmittedCertificates {
  /** Name -> the last good certificate emitted for it (the very object the table holds). */
  #held = new Map<string, Held>();
  /** Name -> the bad value stored there now. */
  #quarantined = new Map<string, Kept>();

  constructor(
    private readonly source: SourceName,
    /** The Redis key of a name, for the log. */
    private readonly redisKey: (name: string) => string,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.#held.size;
  }

  /** The names whose value is kept out, and whether a previous certificate still serves each. */
  get quarantined(): QuarantinedCertificate[] {
    return [...this.#quarantined].map(([key, { reason }]) => ({ key, reason, serving: this.#held.has(key) ? 'previous' : 'none' }));
  }

  /** The names held unchecked (their checks deferred by a snapshot). */
  *unchecked(): Generator<string> {
    for (const [name, held] of this.#held) if (!held.certificate.checked) yield name;
  }

  /**
   * What the value stored under `name` means. Reads this object's state only
   * (a snapshot judges as it reads, and applies later, or never): a value
   * known by its digest is not checked again. Past the `budget`'s checks, a
   * value not known is held unchecked.
   */
  judge(name: string, stored: StoredCertificate, now = Date.now(), budget: CheckBudget | null = null): Verdict {
    if (stored.kind === 'absent') return stored;
    if (stored.kind === 'not-a-string') return { kind: 'bad', digest: '', reason: NOT_A_STRING, checkedAt: now };
    const { digest } = stored;
    const held = this.#held.get(name);
    if (held?.digest === digest && held.certificate.notAfter > now) return { kind: 'good', digest, certificate: held.certificate };
    const kept = this.#quarantined.get(name);
    if (kept?.digest === digest && now - kept.checkedAt < RECHECK_BAD_MS) return { kind: 'bad', digest, reason: kept.reason, checkedAt: kept.checkedAt };
    if (name !== name.toLowerCase()) return { kind: 'bad', digest, reason: `${UPPERCASE}: store it as tls:${name.toLowerCase()}`, checkedAt: now };
    if (budget !== null && budget.checks-- <= 0) return { kind: 'good', digest, certificate: uncheckedCertificate(stored.text(), { key: name, name }) };
    const check = checkCertificate(stored.text(), { key: name, name }, now);
    return check.ok ? { kind: 'good', digest, certificate: check.certificate } : { kind: 'bad', digest, reason: check.reason, checkedAt: now };
  }

  /** The event that makes the table hold what `name` stores now, or null when it already does (or the value is kept out). */
  change(name: string, stored: StoredCertificate, now = Date.now()): ConfigEvent | null {
    const verdict = this.judge(name, stored, now);
    const held = this.#held.get(name);
    switch (verdict.kind) {
      case 'absent':
        this.#quarantined.delete(name);
        if (held === undefined) return null;
        this.#held.delete(name);
        return { type: 'certificate-removed', source: this.source, key: name };
      case 'bad':
        this.#keepOut(name, verdict, held !== undefined);
        return null;
      case 'good':
        this.#quarantined.delete(name);
        if (held?.certificate === verdict.certificate) return null;
        this.#held.set(name, { digest: verdict.digest, certificate: verdict.certificate });
        return { type: 'certificate-set', source: this.source, certificate: verdict.certificate };
      default:
        return assertNever(verdict);
    }
  }

  /**
   * Checks the certificate held unchecked under `name`: the event that makes
   * the table hold it checked, or drop it (quarantined, logged); null when
   * there is none unchecked there.
   */
  checkNow(name: string, now = Date.now()): ConfigEvent | null {
    const held = this.#held.get(name);
    if (held === undefined || held.certificate.checked) return null;
    const check = checkCertificate(held.certificate.pem, { key: name, name }, now);
    if (check.ok) {
      this.#held.set(name, { digest: held.digest, certificate: check.certificate });
      return { type: 'certificate-set', source: this.source, certificate: check.certificate };
    }
    this.#held.delete(name);
    // A newer value kept out already is what the quarantine names.
    if (!this.#quarantined.has(name)) this.#keepOut(name, { digest: held.digest, reason: check.reason, checkedAt: now }, false);
    return { type: 'certificate-removed', source: this.source, key: name };
  }

  /**
   * A snapshot read every `tls:` key: the certificates it serves, replacing
   * all this source gave before. A name whose value is bad keeps its
   * previous certificate; a name not read any more is forgotten.
   */
  snapshot(judged: Iterable<JudgedCertificate>): CertificateSpec[] {
    const before = this.#held;
    const quarantinedBefore = this.#quarantined;
    this.#held = new Map();
    this.#quarantined = new Map();
    for (const { name, verdict } of judged) {
      if (verdict.kind === 'good') this.#held.set(name, { digest: verdict.digest, certificate: verdict.certificate });
      if (verdict.kind !== 'bad') continue;
      const previous = before.get(name);
      if (previous !== undefined) this.#held.set(name, previous);
      const kept = quarantinedBefore.get(name);
      if (kept !== undefined) this.#quarantined.set(name, kept); // known: logged already
      this.#keepOut(name, verdict, previous !== undefined);
    }
    return [...this.#held.values()].map((held) => held.certificate);
  }

  /** Quarantines a bad value, with one log line unless that value was already kept out for that reason. */
  #keepOut(name: string, verdict: { digest: string; reason: string; checkedAt: number }, previous: boolean): void {
    const kept = this.#quarantined.get(name);
    this.#quarantined.set(name, { digest: verdict.digest, reason: verdict.reason, checkedAt: verdict.checkedAt });
    if (kept?.digest === verdict.digest && kept.reason === verdict.reason) return;
    const serving = previous ? 'previous' : 'none';
    this.log.warn(`certificate quarantined: ${previous ? 'the previous one stays served' : 'none served under this name'}`, {
      key: this.redisKey(name),
      reason: verdict.reason,
      serving,
    });
  }
}
