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

  constructor(private readonly source: SourceName) {}

  get version(): ConfigVersion {
    return this.#digest.version;
  }

  /** The snapshot event for `frontends`; the set is moved into the table by it, so a copy is kept here. */
  snapshot(frontends: FrontendSet, dead: DeadMark[], certificates: readonly CertificateSpec[] = []): ConfigEvent {
    this.#set = frontends.clone();
    this.#digest = this.#set.digest();
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

  /** The path frontends emitted under the host level `host` ("www.x/api" under "www.x"): a walk over every frontend, when there are path frontends at all. */
  pathsUnder(host: string): string[] {
    return pathKeysUnder(this.#set, new Set([host])).get(host) ?? [];
  }

  /** The event that makes the table hold `spec` for `key` (null: no frontend), or null when it already does. */
  change(key: string, spec: FrontendSpec | null): ConfigEvent | null {
    const before = this.#set.get(key);
    if (spec === null ? before === undefined : before !== undefined && sameFrontend(before, spec)) return null;
    if (before !== undefined) this.#digest.toggle(before);
    if (spec === null) {
      this.#set.delete(key);
      return { type: 'frontend-removed', source: this.source, version: this.#digest.version, key };
    }
    this.#set.set(spec);
    this.#digest.toggle(spec);
    return { type: 'frontend-set', source: this.source, version: this.#digest.version, frontend: spec };
  }
}

/** The path frontend keys of `set` under each of `hosts` (host levels): one walk over the set, none when it has no path frontend. */
export function pathKeysUnder(set: FrontendSet, hosts: ReadonlySet<string>): Map<string, string[]> {
  const under = new Map<string, string[]>();
  if (set.paths === 0 || hosts.size === 0) return under;
  for (const { key } of set) {
    const slash = prefixStart(key);
    if (slash === -1) continue;
    const host = key.slice(0, slash);
    if (hosts.has(host)) under.set(host, [...(under.get(host) ?? []), key]);
  }
  return under;
}

function sameFrontend(a: FrontendSpec, b: FrontendSpec): boolean {
  if (a.id !== b.id || a.backends.length !== b.backends.length || !a.backends.every((url, i) => url === b.backends[i])) return false;
  return (a.options === undefined ? '' : optionsKey(a.options)) === (b.options === undefined ? '' : optionsKey(b.options));
}
