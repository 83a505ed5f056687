import { assertNever, type ConfigEvent, type ConfigVersion, type DeadMark, type FrontendSpec, type SourceName } from '../vocabulary/events.js';
import { FrontendSet, type Route } from '../frontends/frontend-set.js';
import { MAX_PREFIX_SEGMENTS, prefixEnds } from '../frontends/path.js';
import { CertificateIndex } from './certificates.js';
import { EventHistory, record, type AppliedEvent } from './history.js';

export type { Route } from '../frontends/frontend-set.js';

interface Mark {
  until: number;
  source: SourceName;
}

/** One source's frontends. */
interface Layer {
  readonly source: SourceName;
  frontends: FrontendSet;
}

/** A dead mark as the admin API lists it: `until` in epoch ms. */
export interface DeadMarkInForce {
  host: string;
  index: number;
  until: number;
  source: SourceName;
}

/** The order the admin API lists dead marks in. */
export function byHostThenIndex(a: { host: string; index: number }, b: { host: string; index: number }): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : a.index - b.index;
}

export interface TableOptions {
  /** Source names, highest precedence first, for a key defined by several sources. */
  precedence?: SourceName[];
  historySize?: number;
  now?: () => number;
}

/**
 * The in-memory projection of config events. Lookups are synchronous and do
 * no I/O. Host specificity wins first (exact, then the longest wildcard
 * suffix at any depth, then `*`); within a host level, the longest path
 * prefix on segment boundaries, then the host's own frontend (SPEC §9); a
 * level with neither falls through to the next, as a missing host does.
 * Among sources defining the same key, precedence wins.
 *
 * Each source's frontends are a compact FrontendSet; the Route a lookup
 * returns is built for that lookup (the table holds no object per frontend).
 */
export class RoutingTable {
  #layers: Layer[] = [];
  readonly #layerBySource = new Map<SourceName, Layer>();
  readonly #precedence: SourceName[];
  readonly #dead = new Map<string, Map<number, Mark>>();
  /** Each source's configuration version, as its latest event gave it. */
  readonly #versions = new Map<SourceName, ConfigVersion>();
  readonly #history: EventHistory;
  readonly #now: () => number;
  /** Events applied, by source and type (switchyard_config_events_total). */
  readonly #applied = new Map<SourceName, Map<ConfigEvent['type'], number>>();
  #version = 0;
  #wildcards = 0;
  #paths = 0;
  /** The candidate prefix ends of the path being looked up (lookups are synchronous: one array serves them all). */
  readonly #ends: number[] = new Array<number>(MAX_PREFIX_SEGMENTS).fill(0);
  /** How many of #ends the current lookup found; -1: not looked for yet. */
  #depth = -1;
  #loaded = false;
  /** Every source's certificates, by the names they serve (SPEC §7). */
  readonly certificates: CertificateIndex;

  constructor(options: TableOptions = {}) {
    this.#precedence = options.precedence ?? [];
    this.certificates = new CertificateIndex(this.#rank);
    this.#history = new EventHistory(options.historySize ?? 1000);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Rebuild a table by replaying events. The history keeps every event but
   * the content of snapshots (see RecordedEvent): replay its `replayable` ones.
   */
  static fromEvents(events: Iterable<ConfigEvent>, options?: TableOptions): RoutingTable {
    const table = new RoutingTable(options);
    for (const event of events) table.apply(event);
    return table;
  }

  get version(): number {
    return this.#version;
  }

  /** True once any source delivered its first snapshot. */
  get loaded(): boolean {
    return this.#loaded;
  }

  history(afterSeq = 0): AppliedEvent[] {
    return this.#history.since(afterSeq);
  }

  apply(event: ConfigEvent): number {
    const recorded = record(event); // before a snapshot's set is moved in
    this.#count(event);
    switch (event.type) {
      case 'frontend-set':
        this.#layer(event.source).frontends.set(event.frontend);
        this.#versions.set(event.source, event.version);
        break;
      case 'frontend-removed':
        this.#layerBySource.get(event.source)?.frontends.delete(event.key);
        this.#versions.set(event.source, event.version);
        break;
      case 'backend-dead':
        this.#markDead(event.mark, event.source);
        break;
      case 'backend-alive':
        this.#markAlive(event.host, event.index);
        break;
      case 'snapshot':
        this.#replaceSource(event.source, event.frontends, event.dead);
        this.certificates.replace(event.source, event.certificates ?? []);
        this.#versions.set(event.source, event.version);
        if (event.certificatesOnly !== true) this.#loaded = true;
        break;
      case 'certificate-set':
        this.certificates.set(event.source, event.certificate);
        break;
      case 'certificate-removed':
        this.certificates.remove(event.source, event.key);
        break;
      case 'source-error':
      case 'source-recovered':
        break; // recorded in the history; routes stay as they are (last known good)
      default:
        assertNever(event);
    }
    this.#wildcards = this.#layers.reduce((n, l) => n + l.frontends.wildcards, 0);
    this.#paths = this.#layers.reduce((n, l) => n + l.frontends.paths, 0);
    this.#version++;
    this.#history.push({ seq: this.#version, at: this.#now(), event: recorded });
    return this.#version;
  }

  /**
   * The route serving a normalised host and request path (origin form, the
   * query included or not), or undefined (unknown host). Without a path, or
   * with no path frontend anywhere, only host frontends are looked up.
   */
  lookup(host: string, path = ''): Route | undefined {
    this.#depth = -1; // the path's candidate prefixes are found when a host level first has path frontends
    const exact = this.#atLevel(host, 0, false, path);
    if (exact !== undefined) return exact;
    if (this.#wildcards > 0) {
      for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
        const hit = this.#atLevel(host, dot + 1, true, path);
        if (hit !== undefined) return hit;
      }
    }
    return this.#atLevel('*', 0, false, path);
  }

  /** One host level (`host` from `start`, "*." + it when `wildcard`): its longest matching prefix, else its own frontend. */
  #atLevel(host: string, start: number, wildcard: boolean, path: string): Route | undefined {
    const layers = this.#layers;
    if (this.#paths > 0 && path.length > 1) {
      const hit = this.#longestPrefix(host, start, wildcard, path);
      if (hit !== undefined) return hit;
    }
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      if (wildcard && layer.frontends.wildcards === 0) continue;
      const hit = layer.frontends.match(host, start, wildcard, layer.source);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /** The longest candidate prefix of `path` some source defines at this host level: one lookup per candidate and source with paths there. */
  #longestPrefix(host: string, start: number, wildcard: boolean, path: string): Route | undefined {
    const layers = this.#layers;
    let withPaths = 0; // a bit per layer having path frontends at this level
    for (let i = 0; i < layers.length; i++) if (layers[i]!.frontends.hasPaths(host, start, wildcard)) withPaths |= 1 << i;
    if (withPaths === 0) return undefined;
    if (this.#depth === -1) this.#depth = prefixEnds(path, this.#ends);
    for (let d = this.#depth - 1; d >= 0; d--) {
      for (let i = 0; i < layers.length; i++) {
        if ((withPaths & (1 << i)) === 0) continue;
        const hit = layers[i]!.frontends.match(host, start, wildcard, layers[i]!.source, path, this.#ends[d]!);
        if (hit !== undefined) return hit;
      }
    }
    return undefined;
  }

  /** The exact frontend a source defines for a key ("www.x", "*.x" or "*"), ignoring precedence. */
  frontend(source: SourceName, key: string): Route | undefined {
    return this.#layerBySource.get(source)?.frontends.get(key, source);
  }

  /** Every frontend of every source, in precedence order (for the admin API and export). */
  *routes(): Generator<Route> {
    for (const layer of this.#layers) yield* layer.frontends.routes(layer.source);
  }

  isDead(host: string, index: number, now = this.#now()): boolean {
    const marks = this.#dead.get(host);
    if (marks === undefined) return false;
    const mark = marks.get(index);
    return mark !== undefined && mark.until > now;
  }

  /** True when `host` has any dead mark (expired ones included): the slow path of backend choice. */
  hasDeadMarks(host: string): boolean {
    return this.#dead.has(host);
  }

  /** Current (unexpired) dead indexes of a host. */
  deadIndexes(host: string, now = this.#now()): number[] {
    const marks = this.#dead.get(host);
    if (marks === undefined) return [];
    return [...marks].filter(([, m]) => m.until > now).map(([i]) => i);
  }

  stats(): { version: number; frontends: number; deadHosts: number; sources: SourceName[]; sourceVersions: Record<SourceName, ConfigVersion> } {
    const frontends = this.#layers.reduce((n, l) => n + l.frontends.size, 0);
    const sourceVersions = Object.fromEntries(this.#versions);
    return { version: this.#version, frontends, deadHosts: this.#dead.size, sources: [...this.#layerBySource.keys()], sourceVersions };
  }

  /** How many frontends each source serves. */
  frontendsBySource(): Map<SourceName, number> {
    return new Map(this.#layers.map((l) => [l.source, l.frontends.size]));
  }

  /** Backends marked dead now, over all hosts. */
  deadBackends(now = this.#now()): number {
    let n = 0;
    for (const marks of this.#dead.values()) for (const mark of marks.values()) if (mark.until > now) n++;
    return n;
  }

  /**
   * The dead marks in force now: the first `limit` found, sorted by host
   * and index, and how many there are in all. Bounded for the admin API: a
   * failing wildcard frontend can hold a mark per requested host.
   */
  deadMarks(limit: number, now = this.#now()): { total: number; marks: DeadMarkInForce[] } {
    const marks: DeadMarkInForce[] = [];
    let total = 0;
    for (const [host, byIndex] of this.#dead) {
      for (const [index, mark] of byIndex) {
        if (mark.until <= now) continue;
        if (++total <= limit) marks.push({ host, index, until: mark.until, source: mark.source });
      }
    }
    marks.sort(byHostThenIndex);
    return { total, marks };
  }

  /** Events applied so far, by source and type. */
  appliedEvents(): ReadonlyMap<SourceName, ReadonlyMap<ConfigEvent['type'], number>> {
    return this.#applied;
  }

  #count(event: ConfigEvent): void {
    let byType = this.#applied.get(event.source);
    if (byType === undefined) this.#applied.set(event.source, (byType = new Map()));
    byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
  }

  /** Drop expired dead marks (they are already ignored by lookups; this frees memory). */
  sweepDead(now = this.#now()): void {
    for (const [host, marks] of this.#dead) {
      for (const [index, mark] of marks) if (mark.until <= now) marks.delete(index);
      if (marks.size === 0) this.#dead.delete(host);
    }
  }

  #layer(source: SourceName): Layer {
    let layer = this.#layerBySource.get(source);
    if (layer === undefined) {
      layer = { source, frontends: new FrontendSet() };
      this.#layerBySource.set(source, layer);
      this.#layers = this.#orderLayers();
    }
    return layer;
  }

  readonly #rank = (source: SourceName): number => {
    const i = this.#precedence.indexOf(source);
    return i === -1 ? this.#precedence.length : i;
  };

  #orderLayers(): Layer[] {
    return [...this.#layerBySource.entries()].sort((a, b) => this.#rank(a[0]) - this.#rank(b[0])).map(([, l]) => l);
  }

  #replaceSource(source: SourceName, frontends: Iterable<FrontendSpec>, dead: DeadMark[]): void {
    // A set is moved in, not copied (see ConfigEvent 'snapshot'); anything else (a small source's array) is indexed.
    const fresh = frontends instanceof FrontendSet ? frontends.transfer() : FrontendSet.from(frontends);
    this.#layerBySource.set(source, { source, frontends: fresh });
    this.#layers = this.#orderLayers();
    for (const [host, marks] of this.#dead) {
      for (const [index, mark] of marks) if (mark.source === source) marks.delete(index);
      if (marks.size === 0) this.#dead.delete(host);
    }
    for (const mark of dead) this.#markDead(mark, source);
  }

  #markDead(mark: DeadMark, source: SourceName): void {
    let marks = this.#dead.get(mark.host);
    if (marks === undefined) {
      marks = new Map();
      this.#dead.set(mark.host, marks);
    }
    const previous = marks.get(mark.index);
    if (previous === undefined || previous.until <= mark.until) marks.set(mark.index, { until: mark.until, source });
  }

  #markAlive(host: string, index: number): void {
    const marks = this.#dead.get(host);
    if (marks === undefined) return;
    marks.delete(index);
    if (marks.size === 0) this.#dead.delete(host);
  }
}
