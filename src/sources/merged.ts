// Several sources as one ConfigSource (SPEC §1 "Merged"): a Redis source and
// a vhosts file at once. Each member's events reach the sink unchanged, under
// the member's own name, and the routing table decides per host whose
// definition wins (its precedence); a request waits for every member that has
// a change pending for its host.

import type { ConfigSource, EventSink, SourceState, SourceStatus } from '../vocabulary/source.js';

/** The worst state wins: a merged source is ready only when every member is. */
const STATE_ORDER: SourceState[] = ['stopped', 'starting', 'degraded', 'ready'];

export class MergedSources implements ConfigSource {
  readonly name = 'merged';
  readonly #barriers: ConfigSource[];

  constructor(readonly members: readonly ConfigSource[]) {
    this.#barriers = members.filter((m) => m.whenCurrent !== undefined);
  }

  /** Resolves once every member delivered its first snapshot; rejects with the first member that cannot start. */
  async start(sink: EventSink): Promise<void> {
    await Promise.all(
      this.members.map((member) =>
        member.start(sink).catch((err: Error) => {
          throw new Error(`${member.name}: ${err.message}`, { cause: err });
        }),
      ),
    );
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.members.map((m) => m.stop()));
  }

  status(): SourceStatus {
    const statuses = this.members.map((m) => m.status());
    const state = STATE_ORDER.find((s) => statuses.some((m) => m.state === s)) ?? 'ready';
    const snapshots = statuses.map((m) => m.lastSnapshotAt);
    return {
      name: this.name,
      state,
      mode: statuses.map((m) => `${m.name}:${m.mode}`).join('+'),
      lastError: statuses.find((m) => m.lastError !== null)?.lastError ?? null,
      lastSnapshotAt: snapshots.includes(null) ? null : Math.min(...(snapshots as number[])),
      version: statuses.map((m) => `${m.name}:${m.version ?? '-'}`).join(','),
    };
  }

  whenCurrent(host: string, ready: () => void, path?: string): boolean {
    let pending = 0;
    let armed = false;
    const one = () => {
      if (--pending === 0 && armed) ready();
    };
    for (const source of this.#barriers) if (source.whenCurrent!(host, one, path)) pending++;
    armed = true;
    return pending > 0;
  }
}
