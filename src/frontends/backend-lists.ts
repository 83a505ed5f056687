import type { FrontendOptions } from '../vocabulary/events.js';
import { hashList as digestList, optionsKey, type Lanes } from './digest.js';

/**
 * Interned backend lists: the frontends of a platform share few distinct
 * lists (often one per cluster or app), so a million frontends hold a small
 * integer each instead of a million arrays of the same URLs. A list comes
 * with the frontend options (vhosts file), since both are served together.
 * Reference-counted: a list no frontend uses any more is dropped, so backend
 * churn in a PaaS does not accumulate.
 */
export class BackendLists {
  #lists: (readonly string[] | undefined)[] = [];
  #options: (FrontendOptions | undefined)[] = [];
  #refs: number[] = [];
  #free: number[] = [];
  /** List hash -> list number, or several when hashes collide. */
  #byHash = new Map<number, number | number[]>();

  /** The number of a list equal to `backends` + `options`, with one more reference to it. */
  intern(backends: readonly string[], options?: FrontendOptions): number {
    const hash = hashList(backends, options);
    const known = this.#byHash.get(hash);
    if (typeof known === 'number' && this.#equal(known, backends, options)) return known;
    if (typeof known === 'object') for (const n of known) if (this.#equal(n, backends, options)) return n;
    const n = this.#free.pop() ?? this.#lists.length;
    this.#lists[n] = Object.freeze([...backends]);
    this.#options[n] = options === undefined ? undefined : Object.freeze({ ...options });
    this.#refs[n] = 1;
    if (known === undefined) this.#byHash.set(hash, n);
    else this.#byHash.set(hash, typeof known === 'number' ? [known, n] : [...known, n]);
    return n;
  }

  /** True, with one more reference taken, when list `n` is `backends` + `options`. */
  #equal(n: number, backends: readonly string[], options: FrontendOptions | undefined): boolean {
    if (!sameStrings(this.#lists[n]!, backends) || !sameOptions(this.#options[n], options)) return false;
    this.#refs[n]!++;
    return true;
  }

  /** One reference less; the list is dropped when it was the last. */
  release(n: number): void {
    if (--this.#refs[n]! > 0) return;
    const hash = hashList(this.#lists[n]!, this.#options[n]);
    const known = this.#byHash.get(hash);
    if (typeof known === 'number') this.#byHash.delete(hash);
    else if (known !== undefined) {
      const rest = known.filter((m) => m !== n);
      this.#byHash.set(hash, rest.length === 1 ? rest[0]! : rest);
    }
    this.#lists[n] = undefined;
    this.#options[n] = undefined;
    this.#free.push(n);
  }

  backends(n: number): readonly string[] {
    return this.#lists[n]!;
  }

  options(n: number): FrontendOptions | undefined {
    return this.#options[n];
  }

  /** List `n`'s digest lanes (FrontendDigest), into `lanes`. */
  digestLanes(n: number, lanes: Lanes): Lanes {
    return digestList(this.#lists[n]!, this.#options[n], lanes);
  }

  /** Distinct lists in use. */
  get size(): number {
    return this.#lists.length - this.#free.length;
  }

  clone(): BackendLists {
    const copy = new BackendLists();
    copy.#lists = [...this.#lists];
    copy.#options = [...this.#options];
    copy.#refs = [...this.#refs];
    copy.#free = [...this.#free];
    for (const [hash, known] of this.#byHash) copy.#byHash.set(hash, typeof known === 'number' ? known : [...known]);
    return copy;
  }
}

function hashList(backends: readonly string[], options: FrontendOptions | undefined): number {
  let h = 0x811c9dc5 ^ backends.length;
  for (const url of backends) {
    for (let i = 0; i < url.length; i++) h = Math.imul(h ^ url.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x0a, 0x01000193); // a separator: ["ab"] and ["a", "b"] differ
  }
  if (options !== undefined) h ^= optionsKey(options).length; // rare (vhosts file): equality does the rest
  return h >>> 2; // 30 bits: a small integer to V8, not a boxed number per Map key
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameOptions(a: FrontendOptions | undefined, b: FrontendOptions | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return optionsKey(a) === optionsKey(b);
}

