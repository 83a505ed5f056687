import type { ConfigEvent } from '../events.js';

export interface AppliedEvent {
  seq: number;
  /** Epoch ms when the table applied it. */
  at: number;
  event: ConfigEvent;
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
