import type { FrontendSpec, SourceName } from '../events.js';
import { BackendLists } from './backend-lists.js';

/** A frontend as served: the spec plus the source it came from. */
export interface Route extends FrontendSpec {
  readonly source: SourceName;
}

// A record in the arena (little endian):
//   +0 flags (LIVE, ID_IS_KEY_PREFIX)  +1 key length  +2 id length (u16)  +4 backend list number (u32)
//   +8 the key's bytes, then the id's bytes unless the id is a prefix of the key
const HEADER = 8;
const LIVE = 1;
const ID_IS_KEY_PREFIX = 2;
const MAX_KEY = 255;
const MAX_ID = 0xffff;

// Slots of the open-addressing index: 0 empty, 1 deleted (a tombstone), else a record's offset + 2.
const EMPTY = 0;
const TOMBSTONE = 1;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const WILDCARD_SEED = Math.imul(Math.imul(FNV_OFFSET ^ 42 /* * */, FNV_PRIME) ^ 46 /* . */, FNV_PRIME);

/** Where a string key and id are written as bytes before they are stored. */
let scratch = Buffer.alloc(1024);

/**
 * Frontends by key ("www.x", "*.x", "*"), compact: a million of them in about
 * 33 MB outside the JS heap instead of 470 MB of objects in it. Keys and ids
 * are ASCII bytes in one arena (an id that is a prefix of its key, as the
 * vhosts file's default id is, costs nothing); an open-addressing hash table
 * of 32-bit slots points into it; backend lists are interned. Routes are
 * built on lookup, not stored. The rare key or id the arena cannot hold
 * (non-ASCII, or longer than 255 / 65535 characters) is kept in a Map beside it.
 *
 * Lookups are O(key length) and allocate only the Route they return: a
 * wildcard suffix is hashed and compared in place in the host string.
 */
export class FrontendSet implements Iterable<FrontendSpec> {
  #arena = Buffer.alloc(256);
  #used = 0;
  /** Bytes of dead records in the arena: compacted away when they outweigh the live ones. */
  #garbage = 0;
  #slots = new Uint32Array(16);
  #live = 0;
  #tombstones = 0;
  #lists = new BackendLists();
  #others = new Map<string, { id: string; list: number }>();
  #wildcards = 0;
  #detached = false;

  static from(specs: Iterable<FrontendSpec>): FrontendSet {
    const set = new FrontendSet();
    for (const spec of specs) set.set(spec);
    return set;
  }

  /** Frontends in the set. */
  get size(): number {
    this.#attached();
    return this.#live + this.#others.size;
  }

  /** Wildcard keys ("*.x") in the set: a lookup skips the suffix walk when there are none. */
  get wildcards(): number {
    return this.#wildcards;
  }

  /** Distinct backend lists (with options) the frontends use. */
  get backendLists(): number {
    return this.#lists.size;
  }

  /** Adds or replaces the frontend `spec.key`. */
  set(spec: FrontendSpec): void {
    this.#attached();
    const { key, id } = spec;
    const list = this.#lists.intern(spec.backends, spec.options);
    if (key.length <= MAX_KEY && id.length <= MAX_ID && isAscii(key) && isAscii(id)) {
      if (scratch.length < key.length + id.length) scratch = Buffer.alloc(key.length + id.length);
      scratch.write(key, 0, 'latin1');
      scratch.write(id, key.length, 'latin1');
      this.#dropOther(key);
      this.#putRecord(scratch, 0, key.length, key.length + id.length, list);
      return;
    }
    const before = this.#others.get(key);
    if (before !== undefined) this.#lists.release(before.list);
    else {
      this.#deleteRecord(key); // it may have been in the arena with its previous id
      this.#count(key, 1);
    }
    this.#others.set(key, { id, list });
  }

  /**
   * Adds or replaces a frontend whose key and id are bytes (as read from
   * Redis replies), without making strings of them. False, and nothing
   * stored, when they are not ASCII or too long: set() them as strings.
   */
  setBytes(key: Buffer, keyStart: number, keyEnd: number, id: Buffer, idStart: number, idEnd: number, backends: readonly string[]): boolean {
    this.#attached();
    const keyLen = keyEnd - keyStart;
    const idLen = idEnd - idStart;
    if (keyLen > MAX_KEY || idLen > MAX_ID || !isAsciiBytes(key, keyStart, keyEnd) || !isAsciiBytes(id, idStart, idEnd)) return false;
    if (this.#others.size > 0) this.#dropOther(key.toString('latin1', keyStart, keyEnd));
    if (scratch.length < keyLen + idLen) scratch = Buffer.alloc(keyLen + idLen);
    copyBytes(key, keyStart, keyEnd, scratch, 0);
    copyBytes(id, idStart, idEnd, scratch, keyLen);
    this.#putRecord(scratch, 0, keyLen, keyLen + idLen, this.#lists.intern(backends));
    return true;
  }

  /** Removes the frontend `key`; false when there was none. */
  delete(key: string): boolean {
    this.#attached();
    return this.#dropOther(key) || this.#deleteRecord(key);
  }

  /** The frontend `key`, as served by `source`. */
  get(key: string, source: SourceName = ''): Route | undefined {
    return this.match(key, 0, false, source);
  }

  /**
   * The frontend whose key is `host` from `start` on, prefixed with "*." when
   * `wildcard`: match("a.b.test", 2, true) finds "*.b.test" without building it.
   */
  match(host: string, start: number, wildcard: boolean, source: SourceName): Route | undefined {
    const off = this.#find(host, start, wildcard);
    if (off !== -1) {
      const key = start === 0 && !wildcard ? host : (wildcard ? '*.' : '') + host.slice(start);
      return this.#route(off, key, source);
    }
    if (this.#others.size === 0) return undefined;
    const key = (wildcard ? '*.' : '') + host.slice(start);
    const other = this.#others.get(key);
    return other === undefined ? undefined : this.#otherRoute(key, other, source);
  }

  /** Every frontend, in the order first added (the arena's), then the ones kept beside it. */
  *routes(source: SourceName): Generator<Route> {
    this.#attached();
    for (let off = 0; off < this.#used; off += recordLength(this.#arena, off)) {
      if ((this.#arena[off]! & LIVE) !== 0) yield this.#route(off, undefined, source);
    }
    for (const [key, other] of this.#others) yield this.#otherRoute(key, other, source);
  }

  [Symbol.iterator](): Iterator<FrontendSpec> {
    return this.routes('');
  }

  /** An independent copy. */
  clone(): FrontendSet {
    this.#attached();
    const copy = new FrontendSet();
    copy.#arena = Buffer.alloc(Math.max(256, this.#used));
    this.#arena.copy(copy.#arena, 0, 0, this.#used);
    copy.#used = this.#used;
    copy.#garbage = this.#garbage;
    copy.#slots = this.#slots.slice();
    copy.#live = this.#live;
    copy.#tombstones = this.#tombstones;
    copy.#lists = this.#lists.clone();
    copy.#others = new Map(this.#others);
    copy.#wildcards = this.#wildcards;
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
    moved.#arena = this.#arena;
    moved.#used = this.#used;
    moved.#garbage = this.#garbage;
    moved.#slots = this.#slots;
    moved.#live = this.#live;
    moved.#tombstones = this.#tombstones;
    moved.#lists = this.#lists;
    moved.#others = this.#others;
    moved.#wildcards = this.#wildcards;
    this.#detached = true;
    this.#arena = Buffer.alloc(0);
    this.#used = this.#garbage = this.#live = this.#tombstones = this.#wildcards = 0;
    this.#slots = new Uint32Array(1); // lookups in a detached set find nothing
    this.#lists = new BackendLists();
    this.#others = new Map();
    return moved;
  }

  #attached(): void {
    if (this.#detached) throw new Error('this FrontendSet was transferred (a snapshot is applied once, by one table)');
  }

  #count(key: string, delta: number): void {
    if (key.startsWith('*.')) this.#wildcards += delta;
  }

  #dropOther(key: string): boolean {
    const other = this.#others.size === 0 ? undefined : this.#others.get(key);
    if (other === undefined) return false;
    this.#lists.release(other.list);
    this.#others.delete(key);
    this.#count(key, -1);
    return true;
  }

  #otherRoute(key: string, other: { id: string; list: number }, source: SourceName): Route {
    return { key, id: other.id, backends: this.#lists.backends(other.list), options: this.#lists.options(other.list), source };
  }

  #route(off: number, key: string | undefined, source: SourceName): Route {
    const arena = this.#arena;
    const keyLen = arena[off + 1]!;
    const idLen = arena.readUInt16LE(off + 2);
    const list = arena.readUInt32LE(off + 4);
    const k = key ?? arena.toString('latin1', off + HEADER, off + HEADER + keyLen);
    const idStart = off + HEADER + keyLen;
    const id = (arena[off]! & ID_IS_KEY_PREFIX) !== 0 ? k.slice(0, idLen) : arena.toString('latin1', idStart, idStart + idLen);
    return { key: k, id, backends: this.#lists.backends(list), options: this.#lists.options(list), source };
  }

  /** The offset of the live record of ("*." if `wildcard`) + s.slice(start), or -1. */
  #find(s: string, start: number, wildcard: boolean): number {
    const length = s.length - start + (wildcard ? 2 : 0);
    if (length > MAX_KEY) return -1;
    const arena = this.#arena;
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = hashOf(s, start, wildcard) & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === EMPTY) return -1;
      if (slot === TOMBSTONE || arena[slot - 1] !== length) continue; // slot - 2 + 1: the key length
      let p = slot - 2 + HEADER;
      if (wildcard) {
        if (arena[p] !== 42 || arena[p + 1] !== 46) continue;
        p += 2;
      }
      let c = start;
      while (c < s.length && arena[p] === s.charCodeAt(c)) c++, p++;
      if (c === s.length) return slot - 2;
    }
  }

  /** The slot holding the key bytes[start, end), or the slot where it would go: -(slot + 1). */
  #slotFor(bytes: Buffer, start: number, end: number): number {
    const arena = this.#arena;
    const slots = this.#slots;
    const mask = slots.length - 1;
    let free = -1;
    for (let i = hashOfBytes(bytes, start, end) & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === EMPTY) return -((free === -1 ? i : free) + 1);
      if (slot === TOMBSTONE) {
        if (free === -1) free = i;
      } else if (arena[slot - 1] === end - start && sameBytes(arena, slot - 2 + HEADER, bytes, start, end)) {
        return i;
      }
    }
  }

  /** Stores key bytes[keyStart, keyEnd) with id bytes[keyEnd, idEnd) and backend list `list` (one reference taken). */
  #putRecord(bytes: Buffer, keyStart: number, keyEnd: number, idEnd: number, list: number): void {
    let at = this.#slotFor(bytes, keyStart, keyEnd);
    if (at >= 0) {
      const off = this.#slots[at]! - 2;
      this.#lists.release(this.#arena.readUInt32LE(off + 4));
      if (this.#sameId(off, bytes, keyEnd, idEnd)) {
        this.#arena.writeUInt32LE(list, off + 4);
        return;
      }
      this.#kill(off); // a new id: a new record, the old one is garbage
      this.#slots[at] = this.#append(bytes, keyStart, keyEnd, idEnd, list) + 2;
      this.#compactIfWasteful();
      return;
    }
    if ((this.#live + this.#tombstones + 1) * 5 > this.#slots.length * 3) {
      this.#rebuild(this.#live + 1);
      at = this.#slotFor(bytes, keyStart, keyEnd);
    }
    const slot = -at - 1;
    if (this.#slots[slot] === TOMBSTONE) this.#tombstones--;
    this.#slots[slot] = this.#append(bytes, keyStart, keyEnd, idEnd, list) + 2;
    this.#live++;
    if (keyEnd - keyStart >= 2 && bytes[keyStart] === 42 && bytes[keyStart + 1] === 46) this.#wildcards++;
  }

  #deleteRecord(key: string): boolean {
    if (key.length > MAX_KEY || !isAscii(key)) return false;
    if (scratch.length < key.length) scratch = Buffer.alloc(key.length);
    scratch.write(key, 0, 'latin1');
    const at = this.#slotFor(scratch, 0, key.length);
    if (at < 0) return false;
    const off = this.#slots[at]! - 2;
    this.#lists.release(this.#arena.readUInt32LE(off + 4));
    this.#kill(off);
    this.#slots[at] = TOMBSTONE;
    this.#tombstones++;
    this.#live--;
    this.#count(key, -1);
    this.#compactIfWasteful();
    return true;
  }

  /** True when the record at `off` has the id bytes[idStart, idEnd). */
  #sameId(off: number, bytes: Buffer, idStart: number, idEnd: number): boolean {
    const arena = this.#arena;
    if (arena.readUInt16LE(off + 2) !== idEnd - idStart) return false;
    const at = off + HEADER + ((arena[off]! & ID_IS_KEY_PREFIX) !== 0 ? 0 : arena[off + 1]!);
    return sameBytes(arena, at, bytes, idStart, idEnd);
  }

  #kill(off: number): void {
    this.#arena[off]! &= ~LIVE; // the other flags stay: the record's length depends on them
    this.#garbage += recordLength(this.#arena, off);
  }

  /** Writes a live record at the end of the arena; returns its offset. */
  #append(bytes: Buffer, keyStart: number, keyEnd: number, idEnd: number, list: number): number {
    const keyLen = keyEnd - keyStart;
    const idLen = idEnd - keyEnd;
    const prefix = idLen <= keyLen && sameBytes(bytes, keyStart, bytes, keyEnd, idEnd);
    const length = HEADER + keyLen + (prefix ? 0 : idLen);
    if (this.#used + length > this.#arena.length) {
      const grown = Buffer.alloc(Math.max(this.#used + length, this.#arena.length * 2));
      this.#arena.copy(grown, 0, 0, this.#used);
      this.#arena = grown;
    }
    const arena = this.#arena;
    const off = this.#used;
    arena[off] = LIVE | (prefix ? ID_IS_KEY_PREFIX : 0);
    arena[off + 1] = keyLen;
    arena.writeUInt16LE(idLen, off + 2);
    arena.writeUInt32LE(list, off + 4);
    copyBytes(bytes, keyStart, prefix ? keyEnd : idEnd, arena, off + HEADER);
    this.#used = off + length;
    return off;
  }

  #compactIfWasteful(): void {
    if (this.#garbage > 65536 && this.#garbage * 2 > this.#used) this.#rebuild(this.#live, true);
  }

  /**
   * A fresh index sized for `live` records (load at most 1/2, so a miss
   * probes about 2.5 slots); with `compact`, the arena without dead records.
   */
  #rebuild(live: number, compact = false): void {
    let capacity = 16;
    while (live * 2 > capacity) capacity *= 2;
    const slots = new Uint32Array(capacity);
    const mask = capacity - 1;
    const from = this.#arena;
    const to = compact ? Buffer.alloc(Math.max(256, this.#used - this.#garbage)) : from;
    let used = 0;
    for (let off = 0; off < this.#used; ) {
      const length = recordLength(from, off);
      if ((from[off]! & LIVE) !== 0) {
        const at = compact ? used : off;
        if (compact) from.copy(to, at, off, off + length);
        let i = hashOfBytes(from, off + HEADER, off + HEADER + from[off + 1]!) & mask;
        while (slots[i] !== EMPTY) i = (i + 1) & mask;
        slots[i] = at + 2;
        used = at + length;
      }
      off += length;
    }
    this.#slots = slots;
    this.#tombstones = 0;
    if (compact) {
      this.#arena = to;
      this.#used = used;
      this.#garbage = 0;
    }
  }
}

function recordLength(arena: Buffer, off: number): number {
  const idBytes = (arena[off]! & ID_IS_KEY_PREFIX) !== 0 ? 0 : arena.readUInt16LE(off + 2);
  return HEADER + arena[off + 1]! + idBytes;
}

/**
 * Copies from[start, end) to to[at...]. A loop, not Buffer#copy: with offsets,
 * that makes a Uint8Array view per call (~100 bytes of garbage per key).
 */
function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): void {
  for (let i = start; i < end; i++) to[at++] = from[i]!;
}

/** a[aStart, aStart + (end - start)) equals b[start, end). */
function sameBytes(a: Buffer, aStart: number, b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++, aStart++) if (a[aStart] !== b[i]) return false;
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

function isAsciiBytes(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! > 127) return false;
  return true;
}

/** FNV-1a of ("*." if `wildcard`) + s.slice(start), finished with murmur3's mixer so the low bits index well. */
export function hashOf(s: string, start: number, wildcard: boolean): number {
  let h = wildcard ? WILDCARD_SEED : FNV_OFFSET;
  for (let i = start; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return finish(h);
}

function hashOfBytes(bytes: Buffer, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
