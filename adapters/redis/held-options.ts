// The per-vhost options this source serves (`options:<frontend>` hashes), and
// how they make a Hipache list into the frontend the table gets. A hash with
// a bad field is refused as a whole, logged with its key and field, and the
// last good options of that frontend stay (quarantine, as the file adapter
// does for a bad host); options whose frontend has no list yet are held and
// apply when it appears.
//
// As in the vhosts file, a path frontend takes its host's options and
// overrides those it sets (not `id`, which names one frontend).

import type { Logger } from '../../src/log.js';
import { hostOfKey, prefixStart } from '../../src/frontends/path.js';
import type { FrontendOptions, FrontendSpec } from '../../src/vocabulary/events.js';
import type { QuarantinedFrontend } from '../../src/vocabulary/source.js';
import type { FrontendSet } from '../../src/frontends/frontend-set.js';
import { pathKeysUnder, type EmittedFrontends } from './emitted-frontends.js';
import { parseOptions, servedFrontend, type VhostOptions } from './options.js';

/** An options key as read: absent, not a hash, or its fields. */
export type StoredOptions = { kind: 'absent' } | { kind: 'not-a-hash' } | { kind: 'hash'; fields: Record<string, string> };

export class HeldOptions {
  /** The options served, by frontend key (after `options:`). */
  readonly #good = new Map<string, VhostOptions>();
  readonly #bad = new Map<string, QuarantinedFrontend>();
  /** The list's own identifier of each frontend whose `id` option replaces it (to restore it when the option goes). */
  readonly #listIds = new Map<string, string>();

  constructor(
    private readonly redisKey: (frontendKey: string) => string,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.#good.size;
  }

  get quarantined(): QuarantinedFrontend[] {
    return [...this.#bad.values()];
  }

  /** Takes what `options:<key>` holds now; true when the options served for `key` changed. */
  change(key: string, stored: StoredOptions): boolean {
    const before = this.#good.get(key);
    const after = this.#judge(key, stored, before);
    if (after === undefined) this.#good.delete(key);
    else this.#good.set(key, after);
    return !sameOptions(before, after);
  }

  /** A full read: the options of every key, replacing all held before (a key absent from it has none). */
  replaceAll(stored: Iterable<[key: string, stored: StoredOptions]>): void {
    const previous = new Map(this.#good);
    this.#good.clear();
    this.#bad.clear();
    this.#listIds.clear(); // the snapshot's lists are composed again
    for (const [key, value] of stored) {
      const after = this.#judge(key, value, previous.get(key));
      if (after !== undefined) this.#good.set(key, after);
    }
  }

  /** The frontend served for the list `list` (as read from Redis): with its options, and their `id` when set. */
  compose(list: FrontendSpec): FrontendSpec {
    const own = this.#good.get(list.key);
    const spec = servedFrontend(list, own, prefixStart(list.key) === -1 ? undefined : this.#good.get(hostOfKey(list.key)));
    if (spec.id === list.id) this.#listIds.delete(list.key);
    else this.#listIds.set(list.key, list.id);
    return spec;
  }

  /** The list a served frontend was composed from. */
  listOf(served: FrontendSpec): FrontendSpec {
    return { key: served.key, id: this.#listIds.get(served.key) ?? served.id, backends: served.backends };
  }

  /**
   * The frontends to emit again after the options of `key` changed: its own,
   * and for a host level the path frontends under it, each composed anew from
   * the list it was served from.
   */
  recomposed(key: string, served: EmittedFrontends): FrontendSpec[] {
    const affected = prefixStart(key) === -1 ? [key, ...served.pathsUnder(key)] : [key];
    const specs: FrontendSpec[] = [];
    for (const frontend of affected) {
      const spec = served.get(frontend);
      if (spec !== undefined) specs.push(this.compose(this.listOf(spec)));
    }
    return specs;
  }

  /** A snapshot's lists, as read, become the frontends served: those with options (their own or their host level's) are composed with them, in place. */
  composeAll(frontends: FrontendSet): void {
    if (this.#good.size === 0) return;
    const keys = [...this.#good.keys()];
    const affected = new Set(keys);
    for (const paths of pathKeysUnder(frontends, new Set(keys.filter((key) => prefixStart(key) === -1))).values()) {
      for (const path of paths) affected.add(path);
    }
    for (const key of affected) {
      const list = frontends.get(key);
      if (list !== undefined) frontends.set(this.compose({ key, id: list.id, backends: list.backends }));
    }
  }

  /** A frontend is gone: nothing to restore for it. */
  forget(key: string): void {
    this.#listIds.delete(key);
  }

  /** The options to serve for `key` after `stored` was read (the previous ones when it is refused). */
  #judge(key: string, stored: StoredOptions, previous: VhostOptions | undefined): VhostOptions | undefined {
    const redisKey = this.redisKey(key);
    if (stored.kind === 'absent') {
      this.#bad.delete(redisKey);
      return undefined;
    }
    const result = stored.kind === 'hash' ? parseOptions(key, stored.fields) : { ok: false as const, problems: [{ field: '', reason: 'not a hash' }] };
    if (result.ok) {
      this.#bad.delete(redisKey);
      return Object.keys(result.options).length > 0 ? result.options : undefined;
    }
    const { problems } = result;
    const reason = problems.map((p) => (p.field === '' ? p.reason : `field ${p.field}: ${p.reason}`)).join('\n');
    const serving = previous === undefined ? 'none' : 'previous';
    const known = this.#bad.get(redisKey);
    if (known?.reason !== reason) {
      for (const { field, reason: why } of problems) {
        this.log.warn('options quarantined: the last good options stay', { key: redisKey, ...(field === '' ? {} : { field }), reason: why, serving });
      }
    }
    this.#bad.set(redisKey, { key: redisKey, reason, serving });
    return previous;
  }
}

function sameOptions(a: VhostOptions | undefined, b: VhostOptions | undefined): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(options: FrontendOptions | undefined): [string, unknown][] {
  return Object.entries(options ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
}
