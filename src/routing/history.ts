import type { CertificateSpec, ConfigEvent, ConfigVersion, SourceName } from '../vocabulary/events.js';

/**
 * An event as the history keeps it. A snapshot is recorded by its size, not
 * its content: it can hold a million frontends, and keeping it would double
 * the memory of the table. A certificate is recorded without its PEM: the
 * history is what the admin API's /events shows, and a private key never
 * leaves the proxy. Every other event is kept whole, so the events after
 * the last snapshot replay into the same routes (see `replayable`).
 */
export type RecordedEvent =
  | Exclude<ConfigEvent, { type: 'snapshot' | 'certificate-set' }>
  | { type: 'snapshot'; source: SourceName; version: ConfigVersion; frontends: number; dead: number; certificates: number }
  | { type: 'certificate-set'; source: SourceName; certificate: Omit<CertificateSpec, 'pem'> };

export interface AppliedEvent {
  seq: number;
  /** Epoch ms when the table applied it. */
  at: number;
  event: RecordedEvent;
}

export function record(event: ConfigEvent): RecordedEvent {
  if (event.type === 'certificate-set') {
    const { key, names, checked, notAfter, fingerprint } = event.certificate;
    return { type: 'certificate-set', source: event.source, certificate: { key, names, checked, notAfter, fingerprint } };
  }
  if (event.type !== 'snapshot') return event;
  const frontends = 'size' in event.frontends ? event.frontends.size : event.frontends.length;
  return { type: 'snapshot', source: event.source, version: event.version, frontends, dead: event.dead.length, certificates: event.certificates?.length ?? 0 };
}

/** The recorded event as applied, when the history kept all of it (every event but a snapshot and a certificate). */
export function replayable(event: RecordedEvent): ConfigEvent | null {
  return event.type === 'snapshot' || event.type === 'certificate-set' ? null : event;
}

/** A fixed-size ring of the most recent applied events, oldest overwritten first. */
export class EventHistory {
  readonly #ring: (AppliedEvent | undefined)[];
  #next = 0;
  #count = 0;

  constructor(readonly capacity: number) {
    this.#ring = new Array(capacity);
  }

  push(entry: AppliedEvent): void {
    this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#count < this.capacity) this.#count++;
  }

  /** Entries with seq > `afterSeq`, oldest first. */
  since(afterSeq = 0): AppliedEvent[] {
    const out: AppliedEvent[] = [];
    const start = (this.#next - this.#count + this.capacity) % this.capacity;
    for (let i = 0; i < this.#count; i++) {
      const entry = this.#ring[(start + i) % this.capacity];
      if (entry !== undefined && entry.seq > afterSeq) out.push(entry);
    }
    return out;
  }

  get size(): number {
    return this.#count;
  }
}
