// The certificates one file-based source serves, and those it keeps out
// (SPEC §7): each read of the files is checked as a whole against what was
// served, so that a bad file never replaces a good certificate (the last good
// one stays, quarantined) and the source emits only what changed.

import { createHash } from 'node:crypto';
import type { Logger } from '../../src/log.js';
import { checkCertificate } from '../../src/tls/certificate.js';
import type { CertificateSpec } from '../../src/vocabulary/events.js';
import type { QuarantinedCertificate } from '../../src/vocabulary/source.js';

/** One certificate as read from its file(s), before it is checked. */
export interface CertificateCandidate {
  /** Where the source keeps it: a certDir file's name, a vhosts host. */
  key: string;
  /** The name it must cover; null: the names of its SANs (certDir). */
  name: string | null;
  /** The file(s) it was read from, for the log and the status (never the PEM text). */
  files: Record<string, string>;
  /** The PEM text (chain and key), or why it could not be read. */
  read: { pem: string } | { error: string };
}

export interface CertificateChanges {
  set: CertificateSpec[];
  removed: string[];
}

export class HeldCertificates {
  /** The last good certificate of every key served. */
  #served = new Map<string, CertificateSpec>();
  #quarantined = new Map<string, QuarantinedCertificate>();
  /** What was said of each bad key (a digest of its input and the reason): a bad file is logged once, not at every read. */
  readonly #told = new Map<string, string>();

  constructor(private readonly log: Logger) {}

  get served(): CertificateSpec[] {
    return [...this.#served.values()];
  }

  get quarantined(): QuarantinedCertificate[] {
    return [...this.#quarantined.values()];
  }

  /**
   * Takes what the files hold now. A key that is not among the candidates is
   * removed, unless it is in `keep` (its definition is quarantined
   * elsewhere, e.g. a vhost entry rejected: its certificate stays too).
   */
  update(candidates: Iterable<CertificateCandidate>, keep: ReadonlySet<string> = new Set(), now = Date.now()): CertificateChanges {
    const next = new Map<string, CertificateSpec>();
    const quarantined = new Map<string, QuarantinedCertificate>();
    for (const candidate of candidates) {
      const reason = this.#check(candidate, now, next);
      if (reason === null) continue;
      const previous = this.#served.get(candidate.key);
      if (previous !== undefined) next.set(candidate.key, previous);
      const entry: QuarantinedCertificate = { key: candidate.key, reason, serving: previous === undefined ? 'none' : 'previous' };
      quarantined.set(candidate.key, entry);
      this.#tell(candidate, entry);
    }
    for (const key of keep) {
      const previous = this.#served.get(key);
      if (previous !== undefined && !next.has(key)) next.set(key, previous);
    }
    for (const key of this.#told.keys()) if (!quarantined.has(key)) this.#told.delete(key);
    const changes = diff(this.#served, next);
    this.#served = next;
    this.#quarantined = quarantined;
    return changes;
  }

  /** Null when the candidate is good (it is then in `next`), else why not. */
  #check(candidate: CertificateCandidate, now: number, next: Map<string, CertificateSpec>): string | null {
    if ('error' in candidate.read) return candidate.read.error;
    const checked = checkCertificate(candidate.read.pem, { key: candidate.key, name: candidate.name }, now);
    if (!checked.ok) return checked.reason;
    const previous = this.#served.get(candidate.key);
    // The same text keeps the same spec object: the proxy's secure context cache is keyed by it.
    next.set(candidate.key, previous?.pem === checked.certificate.pem ? previous : checked.certificate);
    return null;
  }

  #tell(candidate: CertificateCandidate, entry: QuarantinedCertificate): void {
    const input = 'pem' in candidate.read ? createHash('sha256').update(candidate.read.pem).digest('hex') : 'unread';
    const said = `${input}\0${entry.reason}`;
    if (this.#told.get(candidate.key) === said) return;
    this.#told.set(candidate.key, said);
    const what = entry.serving === 'previous' ? 'certificate quarantined; the last good one stays served' : 'certificate rejected; it is not served';
    this.log.error(what, { key: candidate.key, ...candidate.files, reason: entry.reason });
  }
}

function diff(before: ReadonlyMap<string, CertificateSpec>, after: ReadonlyMap<string, CertificateSpec>): CertificateChanges {
  const set = [...after.values()].filter((spec) => before.get(spec.key) !== spec);
  const removed = [...before.keys()].filter((key) => !after.has(key));
  return { set, removed };
}
