// The storage under FrontendSet: keys and ids as ASCII bytes in one arena,
// found through an open-addressing hash table of 32-bit slots, each record
// carrying one number (the frontend's backend list). Nothing here is a JS
// object per key, so a million keys cost ~33 MB outside the JS heap and no
// GC work.

import { fmix32, hashKeyIdBytes, type Lanes } from './digest.js';

// A record in the arena (little endian):
//   +0 flags (LIVE, ID_IS_KEY_PREFIX)  +1 key length  +2 id length (u16)  +4 value (u32)
//   +8 the key's bytes, then the id's bytes unless the id is a prefix of the key
const HEADER = 8;
const LIVE = 1;
const ID_IS_KEY_PREFIX = 2;
export const MAX_KEY = 255;
export const MAX_ID = 0xffff;

// Slots: 0 empty, 1 deleted (a tombstone), else a record's offset + 2.
const EMPTY = 0;
const TOMBSTONE = 1;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const WILDCARD_SEED = Math.imul(Math.imul(FNV_OFFSET ^ 42 /* * */, FNV_PRIME) ^ 46 /* . */, FNV_PRIME);

export class KeyIndex {
  #arena = Buffer.alloc(256);
  #used = 0;
  /** Bytes of dead records in the arena: compacted away when they outweigh the live ones. */
  #garbage = 0;
  #slots = new Uint32Array(16);
  #live = 0;
  #tombstones = 0;
  #wildcards = 0;

  /** Live records. */
  get size(): number {
    return this.#live;
  }

  /** Live keys starting with "*.". */
  get wildcards(): number {
    return this.#wildcards;
  }

  /**
   * The record of the key ("*." if `wildcard`) + s.slice(start) + tail.slice(0, tailEnd),
   * or -1: find("a.b.test", 2, true) finds "*.b.test", and find("a.test", 0, false,
   * "/api/v1", 4) finds "a.test/api", without building the string.
   */
  find(s: string, start: number, wildcard: boolean, tail = '', tailEnd = 0): number {
    const length = s.length - start + (wildcard ? 2 : 0) + tailEnd;
    if (length > MAX_KEY) return -1;
    const arena = this.#arena;
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = hashOf(s, start, wildcard, tail, tailEnd) & mask; ; i = (i + 1) & mask) {
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
      if (c < s.length) continue;
      let t = 0;
      while (t < tailEnd && arena[p] === tail.charCodeAt(t)) t++, p++;
      if (t === tailEnd) return slot - 2;
    }
  }

  /** The key of a record. */
  key(record: number): string {
    return this.#arena.toString('latin1', record + HEADER, record + HEADER + this.#arena[record + 1]!);
  }

  /** The id of a record; `key` is its key when the caller has it (saves decoding it). */
  id(record: number, key = this.key(record)): string {
    const arena = this.#arena;
    const idLen = arena.readUInt16LE(record + 2);
    if ((arena[record]! & ID_IS_KEY_PREFIX) !== 0) return key.slice(0, idLen);
    const start = record + HEADER + arena[record + 1]!;
    return arena.toString('latin1', start, start + idLen);
  }

  value(record: number): number {
    return this.#arena.readUInt32LE(record + 4);
  }

  /** Hashes a record's key and id in place (see FrontendSet.digest). */
  hashKeyId(record: number, lanes: Lanes): Lanes {
    const arena = this.#arena;
    const keyStart = record + HEADER;
    const keyEnd = keyStart + arena[record + 1]!;
    const idLen = arena.readUInt16LE(record + 2);
    const idStart = (arena[record]! & ID_IS_KEY_PREFIX) !== 0 ? keyStart : keyEnd;
    return hashKeyIdBytes(arena, keyStart, keyEnd, idStart, idStart + idLen, lanes);
  }

  /** Every live record, in the order written (compaction keeps it). */
  *records(): Generator<number> {
    for (let off = 0; off < this.#used; off += recordLength(this.#arena, off)) {
      if ((this.#arena[off]! & LIVE) !== 0) yield off;
    }
  }

  /**
   * Stores key bytes[keyStart, keyEnd) with id bytes[keyEnd, idEnd) and
   * `value`, ASCII and within MAX_KEY / MAX_ID (the caller checks). Returns
   * the value it replaced, or -1 for a new key.
   */
  put(bytes: Buffer, keyStart: number, keyEnd: number, idEnd: number, value: number): number {
    let at = this.#slotFor(bytes, keyStart, keyEnd);
    if (at >= 0) {
      const off = this.#slots[at]! - 2;
      const before = this.value(off);
      if (this.#sameId(off, bytes, keyEnd, idEnd)) {
        this.#arena.writeUInt32LE(value, off + 4);
        return before;
      }
      this.#kill(off); // a new id: a new record, the old one is garbage
      this.#slots[at] = this.#append(bytes, keyStart, keyEnd, idEnd, value) + 2;
      this.#compactIfWasteful();
      return before;
    }
    if ((this.#live + this.#tombstones + 1) * 5 > this.#slots.length * 3) {
      this.#rebuild(this.#live + 1);
      at = this.#slotFor(bytes, keyStart, keyEnd);
    }
    const slot = -at - 1;
    if (this.#slots[slot] === TOMBSTONE) this.#tombstones--;
    this.#slots[slot] = this.#append(bytes, keyStart, keyEnd, idEnd, value) + 2;
    this.#live++;
    if (keyEnd - keyStart >= 2 && bytes[keyStart] === 42 && bytes[keyStart + 1] === 46) this.#wildcards++;
    return -1;
  }

  /** Removes the key bytes[start, end); returns its value, or -1 when absent. */
  remove(bytes: Buffer, start: number, end: number): number {
    const at = this.#slotFor(bytes, start, end);
    if (at < 0) return -1;
    const off = this.#slots[at]! - 2;
    const before = this.value(off);
    this.#kill(off);
    this.#slots[at] = TOMBSTONE;
    this.#tombstones++;
    this.#live--;
    if (end - start >= 2 && bytes[start] === 42 && bytes[start + 1] === 46) this.#wildcards--;
    this.#compactIfWasteful();
    return before;
  }

  clone(): KeyIndex {
    const copy = new KeyIndex();
    copy.#arena = Buffer.alloc(Math.max(256, this.#used));
    this.#arena.copy(copy.#arena, 0, 0, this.#used);
    copy.#used = this.#used;
    copy.#garbage = this.#garbage;
    copy.#slots = this.#slots.slice();
    copy.#live = this.#live;
    copy.#tombstones = this.#tombstones;
    copy.#wildcards = this.#wildcards;
    return copy;
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
  #append(bytes: Buffer, keyStart: number, keyEnd: number, idEnd: number, value: number): number {
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
    arena.writeUInt32LE(value, off + 4);
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
export function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): void {
  for (let i = start; i < end; i++) to[at++] = from[i]!;
}

/** a[aStart, aStart + (end - start)) equals b[start, end). */
function sameBytes(a: Buffer, aStart: number, b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++, aStart++) if (a[aStart] !== b[i]) return false;
  return true;
}

/**
 * FNV-1a of ("*." if `wildcard`) + s.slice(start) + tail.slice(0, tailEnd), finished
 * with murmur3's mixer (fmix32) so the low bits index well.
 */
export function hashOf(s: string, start: number, wildcard: boolean, tail = '', tailEnd = 0): number {
  let h = wildcard ? WILDCARD_SEED : FNV_OFFSET;
  for (let i = start; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  for (let i = 0; i < tailEnd; i++) h = Math.imul(h ^ tail.charCodeAt(i), FNV_PRIME);
  return fmix32(h);
}

function hashOfBytes(bytes: Buffer, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return fmix32(h);
}

