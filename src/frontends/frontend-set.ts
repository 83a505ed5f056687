import type { FrontendSpec, SourceName } from '../vocabulary/events.js';
import { BackendLists } from './backend-lists.js';
import { FrontendDigest, hashKeyId, Lanes } from './digest.js';
import { copyBytes, KeyIndex, MAX_ID, MAX_KEY } from './key-index.js';
import { prefixStart } from './path.js';

/** A frontend as served: the spec plus the source it came from. */
export interface Route extends FrontendSpec {
  readonly source: SourceName;
}

interface Other {
  id: string;
  list: number;
}

/** Where a string key and id are written as bytes before they are stored. */
let scratch = Buffer.alloc(1024);

/**
 * Frontends by key ("www.x", "*.x", "*"), compact: a million of them in about
 * 33 MB outside the JS heap instead of 470 MB of objects in it. Keys and ids
 * are ASCII bytes in a KeyIndex (an id that is a prefix of its key, as the
 * vhosts file's default id is, costs nothing); backend lists are interned
 * (BackendLists); routes are built on lookup, not stored. The rare key or id
 * the index cannot hold (non-ASCII, or longer than 255 / 65535 characters)
 * is kept in a Map beside it.
 *
 * Lookups are O(key length) and allocate only the Route they return: a
 * wildcard suffix is hashed and compared in place in the host string.
 *
 * Path frontends ("www.x/api", SPEC §9) are stored like any other key; the
 * host keys that have some are counted beside them (#pathHosts), so a host
 * without paths costs nothing more, and one with paths is looked up once
 * per candidate prefix of the request path (see RoutingTable.lookup).
 */
export class FrontendSet implements Iterable<FrontendSpec> {
  #index = new KeyIndex();
  #lists = new BackendLists();
  #others = new Map<string, Other>();
  #otherWildcards = 0;
  /** Path frontends by host key ("www.x", "*.x", "*"): which hosts have any. */
  #pathHosts = new Map<string, number>();
  #paths = 0;
  #pathWildcards = 0;
  #detached = false;

  static from(specs: Iterable<FrontendSpec>): FrontendSet {
    const set = new FrontendSet();
    for (const spec of specs) set.set(spec);
    return set;
  }

  /** Frontends in the set. */
  get size(): number {
    this.#attached();
    return this.#index.size + this.#others.size;
  }

  /** Wildcard keys ("*.x") in the set: a lookup skips the suffix walk when there are none. */
  get wildcards(): number {
    return this.#index.wildcards + this.#otherWildcards;
  }

  /** Path frontends ("www.x/api") in the set: a lookup skips the prefix walk when there are none. */
  get paths(): number {
    return this.#paths;
  }

  /** Distinct backend lists (with options) the frontends use. */
  get backendLists(): number {
    return this.#lists.size;
  }

  /** Adds or replaces the frontend `spec.key`. */
  set(spec: FrontendSpec): void {
    this.#attached();
    const { key, id } = spec;
    if (prefixStart(key) !== -1 && !this.#holds(key)) this.#countPath(key, 1);
    const list = this.#lists.intern(spec.backends, spec.options);
    if (key.length <= MAX_KEY && id.length <= MAX_ID && isAscii(key) && isAscii(id)) {
      this.#dropOther(key);
      const bytes = toScratch(key, id);
      this.#replaced(this.#index.put(bytes, 0, key.length, key.length + id.length, list));
      return;
    }
    this.#removeFromIndex(key); // it may be there with its previous id
    this.#dropOther(key);
    this.#others.set(key, { id, list });
    if (key.startsWith('*.')) this.#otherWildcards++;
  }

  /**
   * Adds or replaces a frontend whose key and id are bytes (as read from
   * Redis replies), without making strings of them. False, and nothing
   * stored, when they are not ASCII or too long, or name a path frontend
   * (rare, and counted by host): set() them as strings.
   */
  setBytes(key: Buffer, keyStart: number, keyEnd: number, id: Buffer, idStart: number, idEnd: number, backends: readonly string[]): boolean {
    this.#attached();
    const keyLen = keyEnd - keyStart;
    const idLen = idEnd - idStart;
    if (keyLen > MAX_KEY || idLen > MAX_ID || !isAsciiBytes(key, keyStart, keyEnd) || !isAsciiBytes(id, idStart, idEnd)) return false;
    if (hasSlash(key, keyStart, keyEnd)) return false;
    if (this.#others.size > 0) this.#dropOther(key.toString('latin1', keyStart, keyEnd));
    if (scratch.length < keyLen + idLen) scratch = Buffer.alloc(keyLen + idLen);
    copyBytes(key, keyStart, keyEnd, scratch, 0);
    copyBytes(id, idStart, idEnd, scratch, keyLen);
    this.#replaced(this.#index.put(scratch, 0, keyLen, keyLen + idLen, this.#lists.intern(backends)));
    return true;
  }

  /** Removes the frontend `key`; false when there was none. */
  delete(key: string): boolean {
    this.#attached();
    const deleted = this.#dropOther(key) || this.#removeFromIndex(key);
    if (deleted && prefixStart(key) !== -1) this.#countPath(key, -1);
    return deleted;
  }

  /** The frontend `key`, as served by `source`. */
  get(key: string, source: SourceName = ''): Route | undefined {
    return this.match(key, 0, false, source);
  }

  /**
   * The frontend whose key is `host` from `start` on, prefixed with "*." when
   * `wildcard`, followed by `path` up to `pathEnd`: match("a.b.test", 2, true)
   * finds "*.b.test", match("a.test", 0, false, s, "/api/v1", 4) "a.test/api",
   * without building the key unless found.
   */
  match(host: string, start: number, wildcard: boolean, source: SourceName, path = '', pathEnd = 0): Route | undefined {
    const record = this.#index.find(host, start, wildcard, path, pathEnd);
    if (record !== -1) {
      const key = keyOf(host, start, wildcard, path, pathEnd);
      return this.#route(key, this.#index.id(record, key), this.#index.value(record), source);
    }
    if (this.#others.size === 0) return undefined;
    const key = keyOf(host, start, wildcard, path, pathEnd);
    const other = this.#others.get(key);
    return other === undefined ? undefined : this.#route(key, other.id, other.list, source);
  }

  /** True when some path frontend has the host key `host` from `start` on ("*." + it when `wildcard`). */
  hasPaths(host: string, start: number, wildcard: boolean): boolean {
    if (this.#paths === 0 || (wildcard && this.#pathWildcards === 0)) return false;
    return this.#pathHosts.has(keyOf(host, start, wildcard, '', 0));
  }

  /** Every frontend, in the order first added, then the ones kept beside the index. */
  *routes(source: SourceName): Generator<Route> {
    this.#attached();
    const index = this.#index;
    for (const record of index.records()) {
      const key = index.key(record);
      yield this.#route(key, index.id(record, key), index.value(record), source);
    }
    for (const [key, other] of this.#others) yield this.#route(key, other.id, other.list, source);
  }

  [Symbol.iterator](): Iterator<FrontendSpec> {
    return this.routes('');
  }

  /** The digest of every frontend in the set (see FrontendDigest), read from the storage without building a route. */
  digest(): FrontendDigest {
    this.#attached();
    const digest = new FrontendDigest();
    const keyId = new Lanes();
    const list = new Lanes();
    const index = this.#index;
    for (const record of index.records()) {
      this.#lists.digestLanes(index.value(record), list);
      digest.toggleLanes(index.hashKeyId(record, keyId), list.a, list.b);
    }
    for (const [key, other] of this.#others) {
      this.#lists.digestLanes(other.list, list);
      digest.toggleLanes(hashKeyId(key, other.id, keyId), list.a, list.b);
    }
    return digest;
  }

  /** An independent copy. */
  clone(): FrontendSet {
    this.#attached();
    const copy = new FrontendSet();
    copy.#index = this.#index.clone();
    copy.#lists = this.#lists.clone();
    copy.#others = new Map(this.#others);
    copy.#otherWildcards = this.#otherWildcards;
    copy.#pathHosts = new Map(this.#pathHosts);
    copy.#paths = this.#paths;
    copy.#pathWildcards = this.#pathWildcards;
    return copy;
  }

  /**
   * Moves the content into a new set, without copying it, and leaves this
   * one detached (using it throws), as postMessage transfers an ArrayBuffer:
   * how a snapshot of a million frontends reaches the table without a second
   * copy that would stay resident until the next full GC.
   */
  transfer(): FrontendSet {
    this.#attached();
    const moved = new FrontendSet();
    moved.#index = this.#index;
    moved.#lists = this.#lists;
    moved.#others = this.#others;
    moved.#otherWildcards = this.#otherWildcards;
    moved.#pathHosts = this.#pathHosts;
    moved.#paths = this.#paths;
    moved.#pathWildcards = this.#pathWildcards;
    this.#detached = true;
    this.#index = new KeyIndex(); // lookups in a detached set find nothing
    this.#lists = new BackendLists();
    this.#others = new Map();
    this.#otherWildcards = 0;
    this.#pathHosts = new Map();
    this.#paths = 0;
    this.#pathWildcards = 0;
    return moved;
  }

  #attached(): void {
    if (this.#detached) throw new Error('this FrontendSet was transferred (a snapshot is applied once, by one table)');
  }

  #route(key: string, id: string, list: number, source: SourceName): Route {
    return { key, id, backends: this.#lists.backends(list), options: this.#lists.options(list), source };
  }

  /** True when the set holds `key`. */
  #holds(key: string): boolean {
    return this.#others.has(key) || (key.length <= MAX_KEY && this.#index.find(key, 0, false) !== -1);
  }

  /** One path frontend more (+1) or less (-1) under the host of `key`. */
  #countPath(key: string, delta: 1 | -1): void {
    const host = key.slice(0, prefixStart(key));
    const count = (this.#pathHosts.get(host) ?? 0) + delta;
    if (count === 0) this.#pathHosts.delete(host);
    else this.#pathHosts.set(host, count);
    this.#paths += delta;
    if (host.startsWith('*.')) this.#pathWildcards += delta;
  }

  /** The backend list a key had before put(), released (-1: the key is new). */
  #replaced(list: number): void {
    if (list !== -1) this.#lists.release(list);
  }

  #removeFromIndex(key: string): boolean {
    if (key.length > MAX_KEY || !isAscii(key)) return false;
    const list = this.#index.remove(toScratch(key, ''), 0, key.length);
    this.#replaced(list);
    return list !== -1;
  }

  #dropOther(key: string): boolean {
    const other = this.#others.size === 0 ? undefined : this.#others.get(key);
    if (other === undefined) return false;
    this.#lists.release(other.list);
    this.#others.delete(key);
    if (key.startsWith('*.')) this.#otherWildcards--;
    return true;
  }
}

/** ("*." if `wildcard`) + host.slice(start) + path.slice(0, pathEnd), built only when needed. */
function keyOf(host: string, start: number, wildcard: boolean, path: string, pathEnd: number): string {
  const base = start === 0 && !wildcard ? host : (wildcard ? '*.' : '') + host.slice(start);
  return pathEnd === 0 ? base : base + path.slice(0, pathEnd);
}

/** `key` then `id` as bytes in the scratch buffer (both ASCII). */
function toScratch(key: string, id: string): Buffer {
  if (scratch.length < key.length + id.length) scratch = Buffer.alloc(key.length + id.length);
  scratch.write(key, 0, 'latin1');
  if (id.length > 0) scratch.write(id, key.length, 'latin1');
  return scratch;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

function hasSlash(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] === 47 /* / */) return true;
  return false;
}

function isAsciiBytes(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! > 127) return false;
  return true;
}
