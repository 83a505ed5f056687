// Configuration versions as content digests: a source's version is the XOR of
// one 64-bit fingerprint per frontend, so it is the same for the same
// frontends whatever the order they were defined in, it is updated per change
// without a pass over the rest (remove the old fingerprint, add the new), and
// two workers or two instances reading one source agree on it exactly when
// they hold the same frontends.

import type { FrontendOptions, FrontendSpec } from '../vocabulary/events.js';

// Two FNV-1a lanes (different offsets and primes), each finished with murmur3's mixer.
const OFFSET_A = 0x811c9dc5;
const OFFSET_B = 0x050c5d1f;
const PRIME_A = 0x01000193;
const PRIME_B = 0x0100019d;
/** Separators above any UTF-16 code unit or byte: no text can imitate them. */
const END_OF_KEY = 0x10001;
const END_OF_ID = 0x10002;
const END_OF_URL = 0x10003;
const END_OF_LIST = 0x10004;

/** A pair of 32-bit hash lanes, reused by the caller so that hashing allocates nothing. */
export class Lanes {
  a = OFFSET_A;
  b = OFFSET_B;

  reset(): this {
    this.a = OFFSET_A;
    this.b = OFFSET_B;
    return this;
  }

  /** Feeds one code unit (a byte, a UTF-16 unit or a separator). */
  step(c: number): void {
    this.a = Math.imul(this.a ^ c, PRIME_A);
    this.b = Math.imul(this.b ^ c, PRIME_B);
  }

  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.step(s.charCodeAt(i));
  }

  bytes(buf: Buffer, start: number, end: number): void {
    for (let i = start; i < end; i++) this.step(buf[i]!);
  }
}

/** Key then id, as KeyIndex.hashKeyId reads them from its bytes (ASCII keys give the same lanes). */
export function hashKeyId(key: string, id: string, lanes: Lanes): Lanes {
  lanes.reset();
  lanes.text(key);
  lanes.step(END_OF_KEY);
  lanes.text(id);
  lanes.step(END_OF_ID);
  return lanes;
}

/** The same from bytes (KeyIndex's arena): key bytes[keyStart, keyEnd), id bytes[idStart, idEnd). */
export function hashKeyIdBytes(bytes: Buffer, keyStart: number, keyEnd: number, idStart: number, idEnd: number, lanes: Lanes): Lanes {
  lanes.reset();
  lanes.bytes(bytes, keyStart, keyEnd);
  lanes.step(END_OF_KEY);
  lanes.bytes(bytes, idStart, idEnd);
  lanes.step(END_OF_ID);
  return lanes;
}

/** A backend list with its options: what BackendLists interns and hashes once per list. */
export function hashList(backends: readonly string[], options: FrontendOptions | undefined, lanes: Lanes): Lanes {
  lanes.reset();
  for (const url of backends) {
    lanes.text(url);
    lanes.step(END_OF_URL);
  }
  lanes.step(END_OF_LIST);
  if (options !== undefined) lanes.text(optionsKey(options));
  return lanes;
}

/** Options as a canonical string: only set fields, in name order. */
export function optionsKey(options: FrontendOptions): string {
  const set = Object.entries(options).filter(([, v]) => v !== undefined);
  return JSON.stringify(set.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** murmur3's 32-bit finaliser: every input bit affects every output bit (also KeyIndex's slot hash). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const scratchKey = new Lanes();
const scratchList = new Lanes();

/** The XOR of every frontend's fingerprint, kept up to date change by change. */
export class FrontendDigest {
  #a = 0;
  #b = 0;

  static of(specs: Iterable<FrontendSpec>): FrontendDigest {
    const digest = new FrontendDigest();
    for (const spec of specs) digest.toggle(spec);
    return digest;
  }

  /** Adds a frontend that is not in the digest, or removes one that is (XOR is its own inverse). */
  toggle(spec: FrontendSpec): void {
    const key = hashKeyId(spec.key, spec.id, scratchKey);
    const list = hashList(spec.backends, spec.options, scratchList);
    this.toggleLanes(key, list.a, list.b);
  }

  /** The same from a key-and-id hash and a list's two lanes (how a FrontendSet digests its storage). */
  toggleLanes(keyId: Lanes, listA: number, listB: number): void {
    this.#a = (this.#a ^ fmix32(keyId.a ^ Math.imul(listA, 0x9e3779b1))) >>> 0;
    this.#b = (this.#b ^ fmix32(keyId.b ^ Math.imul(listB, 0x85ebca77))) >>> 0;
  }

  /** 16 hex digits; "0000000000000000" for no frontends. */
  get version(): string {
    return this.#a.toString(16).padStart(8, '0') + this.#b.toString(16).padStart(8, '0');
  }

  clone(): FrontendDigest {
    const copy = new FrontendDigest();
    copy.#a = this.#a;
    copy.#b = this.#b;
    return copy;
  }
}
