// What this source last told the table about dead marks, host by host, so a
// re-read of a `dead:<host>` set emits only what changed in it.

import type { ConfigEvent, DeadMark, SourceName } from '../../src/vocabulary/events.js';

/** PTTL is read at a slightly different moment each time: a mark whose expiry moved less than this is the same mark. */
const EXPIRY_DRIFT_MS = 500;

export class EmittedDeadMarks {
  /** Host -> backend index -> expiry (epoch ms). */
  readonly #byHost = new Map<string, Map<number, number>>();

  constructor(private readonly source: SourceName) {}

  /** Hosts with at least one mark. */
  get hosts(): number {
    return this.#byHost.size;
  }

  /** A snapshot replaces every mark (the snapshot event carries them). */
  replaceAll(marks: readonly DeadMark[]): void {
    this.#byHost.clear();
    for (const mark of marks) {
      let host = this.#byHost.get(mark.host);
      if (host === undefined) this.#byHost.set(mark.host, (host = new Map()));
      host.set(mark.index, mark.until);
    }
  }

  /** The events that make the table hold exactly `marks` for `host`: new or moved marks, and lifted ones. */
  change(host: string, marks: readonly DeadMark[]): ConfigEvent[] {
    const before = this.#byHost.get(host) ?? new Map<number, number>();
    const after = new Map(marks.map((m) => [m.index, m.until]));
    const events: ConfigEvent[] = [];
    for (const mark of marks) {
      const previous = before.get(mark.index);
      if (previous === undefined || Math.abs(previous - mark.until) > EXPIRY_DRIFT_MS) events.push({ type: 'backend-dead', source: this.source, mark });
    }
    for (const index of before.keys()) {
      if (!after.has(index)) events.push({ type: 'backend-alive', source: this.source, host, index });
    }
    if (after.size === 0) this.#byHost.delete(host);
    else this.#byHost.set(host, after);
    return events;
  }
}
