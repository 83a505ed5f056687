import type { CertificateSpec, SourceName } from '../vocabulary/events.js';

/** A certificate in force, with the source that gave it. */
export interface CertificateInForce {
  readonly source: SourceName;
  readonly certificate: CertificateSpec;
}

/**
 * Every source's certificates, indexed by the names they serve: the
 * table's projection of certificate events (SPEC §7). Selection for an SNI
 * name is the exact name, then a wildcard certificate covering it (one
 * label), else none (the listener's default). Where several certificates
 * serve one name, the source of highest precedence wins, then the one that
 * expires last (a renewed certificate beside the old one).
 */
export class CertificateIndex {
  readonly #bySource = new Map<SourceName, Map<string, CertificateSpec>>();
  readonly #byName = new Map<string, CertificateInForce[]>();

  constructor(private readonly rank: (source: SourceName) => number) {}

  set(source: SourceName, certificate: CertificateSpec): void {
    this.remove(source, certificate.key);
    let held = this.#bySource.get(source);
    if (held === undefined) this.#bySource.set(source, (held = new Map()));
    held.set(certificate.key, certificate);
    const entry = { source, certificate };
    for (const name of certificate.names) {
      const list = this.#byName.get(name);
      if (list === undefined) this.#byName.set(name, [entry]);
      else {
        list.push(entry);
        list.sort(this.#better);
      }
    }
  }

  remove(source: SourceName, key: string): void {
    const held = this.#bySource.get(source);
    const old = held?.get(key);
    if (old === undefined) return;
    held!.delete(key);
    for (const name of old.names) {
      const list = this.#byName.get(name)!;
      const rest = list.filter((e) => e.certificate !== old);
      if (rest.length === 0) this.#byName.delete(name);
      else this.#byName.set(name, rest);
    }
  }

  /** A source's certificates, replacing all it gave before. */
  replace(source: SourceName, certificates: readonly CertificateSpec[]): void {
    for (const key of [...(this.#bySource.get(source)?.keys() ?? [])]) this.remove(source, key);
    for (const certificate of certificates) this.set(source, certificate);
  }

  /**
   * The certificate for an SNI name (lowercase), or null: the default
   * certificate. One that expired while in the table is passed over (a
   * client would refuse it; the next one may not): sources check expiry only
   * when they read a certificate.
   */
  select(servername: string, now = Date.now()): CertificateInForce | null {
    const exact = current(this.#byName.get(servername), now);
    if (exact !== null) return exact;
    const dot = servername.indexOf('.');
    if (dot <= 0) return null;
    return current(this.#byName.get(`*${servername.slice(dot)}`), now);
  }

  /** The certificate a source keeps under `key`. */
  get(source: SourceName, key: string): CertificateSpec | undefined {
    return this.#bySource.get(source)?.get(key);
  }

  /** How many certificates each source gives. */
  countBySource(): Map<SourceName, number> {
    return new Map([...this.#bySource].map(([source, held]) => [source, held.size]));
  }

  *all(): Generator<CertificateInForce> {
    for (const [source, held] of this.#bySource) for (const certificate of held.values()) yield { source, certificate };
  }

  readonly #better = (a: CertificateInForce, b: CertificateInForce): number =>
    this.rank(a.source) - this.rank(b.source) || b.certificate.notAfter - a.certificate.notAfter;
}

/** The best of `list` not expired at `now` (the list is best first). */
function current(list: CertificateInForce[] | undefined, now: number): CertificateInForce | null {
  if (list === undefined) return null;
  for (const entry of list) if (entry.certificate.notAfter > now) return entry;
  return null;
}
