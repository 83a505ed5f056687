// What this source last told the table about its frontends. A re-read that
// finds a key as it was emits nothing (a notification for an EXPIRE, a LSET to
// the same value, the second read of a burst), and the source's version is
// the digest of these frontends (equal in every worker and instance that read
// the same Redis). It costs a compact copy of the frontends: ~35-40 bytes each.

import { FrontendDigest, optionsKey } from '../../src/frontends/digest.js';
import { FrontendSet } from '../../src/frontends/frontend-set.js';
import { prefixStart } from '../../src/frontends/path.js';
import type { CertificateSpec, ConfigEvent, ConfigVersion, DeadMark, FrontendSpec, SourceName } from '../../src/vocabulary/events.js';

export class EmittedFrontends {
  #set = new FrontendSet();
  #digest = new FrontendDigest();
  /**
   * The path frontend keys by host level ("www.x" -> "www.x/api"), so that an
   * options change of a host level reaches its paths without a walk over
   * every frontend; built at the first such change after a snapshot (null
   * until then: a snapshot costs no walk).
   */
  #paths: Map<string, Set<string>> | null = null;

  constructor(private readonly source: SourceName) {}

  get version(): ConfigVersion {
    return this.#digest.version;
  }

  /** The snapshot event for `frontends`; the set is moved into the table by it, so a copy is kept here. */
  snapshot(frontends: FrontendSet, dead: DeadMark[], certificates: readonly CertificateSpec[] = []): ConfigEvent {
    this.#set = frontends.clone();
    this.#digest = this.#set.digest();
    this.#paths = null;
    return { type: 'snapshot', source: this.source, version: this.#digest.version, frontends, dead, certificates };
  }

  /** The frontend last emitted for `key`. */
  get(key: string): FrontendSpec | undefined {
    const route = this.#set.get(key);
    if (route === undefined) return undefined;
    const spec: FrontendSpec = { key: route.key, id: route.id, backends: route.backends };
    if (route.options !== undefined) spec.options = route.options;
    return spec;
  }

  /** The path frontends emitted under the host level `host` ("www.x/api" under "www.x"). */
  pathsUnder(host: string): string[] {
    this.#paths ??= new Map([...pathKeysUnder(this.#set, null)].map(([level, keys]) => [level, new Set(keys)]));
    return [...(this.#paths.get(host) ?? [])];
  }

  /** The event that makes the table hold `spec` for `key` (null: no frontend), or null when it already does. */
  change(key: string, spec: FrontendSpec | null): ConfigEvent | null {
    const before = this.#set.get(key);
    if (spec === null ? before === undefined : before !== undefined && sameFrontend(before, spec)) return null;
    if (before !== undefined) this.#digest.toggle(before);
    this.#indexPath(key, spec !== null);
    if (spec === null) {
      this.#set.delete(key);
      return { type: 'frontend-removed', source: this.source, version: this.#digest.version, key };
    }
    this.#set.set(spec);
    this.#digest.toggle(spec);
    return { type: 'frontend-set', source: this.source, version: this.#digest.version, frontend: spec };
  }

  #indexPath(key: string, present: boolean): void {
    const slash = prefixStart(key);
    if (slash === -1 || this.#paths === null) return;
    const host = key.slice(0, slash);
    const keys = this.#paths.get(host) ?? new Set<string>();
    if (present) keys.add(key);
    else keys.delete(key);
    if (keys.size === 0) this.#paths.delete(host);
    else this.#paths.set(host, keys);
  }
}

/** The path frontend keys of `set` under each of `hosts` (host levels; null: every one): one walk over the set, none when it has no path frontend. */
export function pathKeysUnder(set: FrontendSet, hosts: ReadonlySet<string> | null): Map<string, string[]> {
  const under = new Map<string, string[]>();
  if (set.paths === 0 || hosts?.size === 0) return under;
  for (const { key } of set) {
    const slash = prefixStart(key);
    if (slash === -1) continue;
    const host = key.slice(0, slash);
    if (hosts === null || hosts.has(host)) under.set(host, [...(under.get(host) ?? []), key]);
  }
  return under;
}

function sameFrontend(a: FrontendSpec, b: FrontendSpec): boolean {
  if (a.id !== b.id || a.backends.length !== b.backends.length || !a.backends.every((url, i) => url === b.backends[i])) return false;
  return (a.options === undefined ? '' : optionsKey(a.options)) === (b.options === undefined ? '' : optionsKey(b.options));
}
