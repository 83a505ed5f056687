import { assertNever, type ConfigEvent, type DeadMark, type FrontendSpec, type SourceName } from '../events.js';
import { EventHistory, type AppliedEvent } from './history.js';

/** A frontend as served: the spec plus the source it came from. */
export interface Route extends FrontendSpec {
  readonly source: SourceName;
}

interface Mark {
  until: number;
  source: SourceName;
}

/** One source's frontends, split by kind so a lookup never scans. */
class Layer {
  readonly exact = new Map<string, Route>();
  readonly wildcard = new Map<string, Route>(); // keyed by suffix: "*.example.com" -> "example.com"
  catchAll: Route | undefined;

  get(key: string): Route | undefined {
    if (key === '*') return this.catchAll;
    if (key.startsWith('*.')) return this.wildcard.get(key.slice(2));
    return this.exact.get(key);
  }

  set(route: Route): void {
    if (route.key === '*') this.catchAll = route;
    else if (route.key.startsWith('*.')) this.wildcard.set(route.key.slice(2), route);
    else this.exact.set(route.key, route);
  }

  delete(key: string): void {
    if (key === '*') this.catchAll = undefined;
    else if (key.startsWith('*.')) this.wildcard.delete(key.slice(2));
    else this.exact.delete(key);
  }
}

export interface TableOptions {
  /** Source names, highest precedence first, for a key defined by several sources. */
  precedence?: SourceName[];
  historySize?: number;
  now?: () => number;
}

/**
 * The in-memory projection of config events. Lookups are synchronous and do
 * no I/O. Specificity wins first (exact, then the longest wildcard suffix at
 * any depth, then `*`); among sources defining the same key, precedence wins.
 */
export class RoutingTable {
  #layers: Layer[] = [];
  readonly #layerBySource = new Map<SourceName, Layer>();
  readonly #precedence: SourceName[];
  readonly #dead = new Map<string, Map<number, Mark>>();
  readonly #history: EventHistory;
  readonly #now: () => number;
  #version = 0;
  #wildcards = 0;
  #loaded = false;

  constructor(options: TableOptions = {}) {
    this.#precedence = options.precedence ?? [];
    this.#history = new EventHistory(options.historySize ?? 1000);
    this.#now = options.now ?? Date.now;
  }

  /** Rebuild a table by replaying events, as the history allows. */
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
    switch (event.type) {
      case 'frontend-set':
        this.#layer(event.source).set({ ...event.frontend, source: event.source });
        break;
      case 'frontend-removed':
        this.#layerBySource.get(event.source)?.delete(event.key);
        break;
      case 'backend-dead':
        this.#markDead(event.mark, event.source);
        break;
      case 'backend-alive':
        this.#markAlive(event.host, event.index);
        break;
      case 'snapshot':
        this.#replaceSource(event.source, event.frontends, event.dead);
        this.#loaded = true;
        break;
      case 'source-error':
      case 'source-recovered':
        break; // recorded in the history; routes stay as they are (last known good)
      default:
        assertNever(event);
    }
    this.#wildcards = this.#layers.reduce((n, l) => n + l.wildcard.size, 0);
    this.#version++;
    this.#history.push({ seq: this.#version, at: this.#now(), event });
    return this.#version;
  }

  /** The route serving a normalised host, or undefined (unknown host). */
  lookup(host: string): Route | undefined {
    const layers = this.#layers;
    for (let i = 0; i < layers.length; i++) {
      const hit = layers[i]!.exact.get(host);
      if (hit !== undefined) return hit;
    }
    if (this.#wildcards > 0) {
      for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
        const suffix = host.slice(dot + 1);
        for (let i = 0; i < layers.length; i++) {
          const hit = layers[i]!.wildcard.get(suffix);
          if (hit !== undefined) return hit;
        }
      }
    }
    for (let i = 0; i < layers.length; i++) {
      const hit = layers[i]!.catchAll;
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /** The exact frontend a source defines for a key ("www.x", "*.x" or "*"), ignoring precedence. */
  frontend(source: SourceName, key: string): Route | undefined {
    return this.#layerBySource.get(source)?.get(key);
  }

  /** Every frontend of every source, in precedence order (for the admin API and export). */
  *routes(): Generator<Route> {
    for (const layer of this.#layers) {
      yield* layer.exact.values();
      yield* layer.wildcard.values();
      if (layer.catchAll !== undefined) yield layer.catchAll;
    }
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

  stats(): { version: number; frontends: number; deadHosts: number; sources: SourceName[] } {
    let frontends = 0;
    for (const layer of this.#layers) {
      frontends += layer.exact.size + layer.wildcard.size + (layer.catchAll ? 1 : 0);
    }
    return { version: this.#version, frontends, deadHosts: this.#dead.size, sources: [...this.#layerBySource.keys()] };
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
      layer = new Layer();
      this.#layerBySource.set(source, layer);
      this.#layers = this.#orderLayers();
    }
    return layer;
  }

  #orderLayers(): Layer[] {
    const rank = (s: SourceName) => {
      const i = this.#precedence.indexOf(s);
      return i === -1 ? this.#precedence.length : i;
    };
    return [...this.#layerBySource.entries()].sort((a, b) => rank(a[0]) - rank(b[0])).map(([, l]) => l);
  }

  #replaceSource(source: SourceName, frontends: FrontendSpec[], dead: DeadMark[]): void {
    const fresh = new Layer();
    for (const f of frontends) fresh.set({ ...f, source });
    this.#layerBySource.set(source, fresh);
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
