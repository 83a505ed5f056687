import type { DeadMark, FrontendSpec } from '../../src/vocabulary/events.js';
import type { Logger } from '../../src/log.js';
import { digestOf, type StoredCertificate } from './emitted-certificates.js';
import { frontendOfList, malformedBackends, warnMalformed, warnUnmatchable } from './hipache-list.js';
import type { KeyKind, KeySpace } from './keys.js';
import type { StoredOptions } from './held-options.js';
import type { Reply } from './wire.js';

/** What reading needs of a connection: the worker's WireClient, or the CLI's node-redis client adapted. */
export interface ReadClient {
  send(args: readonly string[]): Promise<Reply>;
  multi(commands: readonly (readonly string[])[]): Promise<Reply[]>;
}

/** Dead sets written without EXPIRE (by an external checker) hold until removed. */
export const NO_EXPIRY = Number.MAX_SAFE_INTEGER;

/**
 * Reads Hipache keys into typed values. Malformed data (a wrong key type, a
 * backend that is not a URL, a dead member that is not an index) is logged
 * and skipped; it never throws for bad data, only for Redis errors.
 */
export class HipacheReader {
  constructor(
    private readonly client: () => ReadClient,
    private readonly keys: KeySpace,
    private readonly log: Logger,
  ) {}

  /** The frontend stored at `key` ("www.x", "*.x", "*"), or null when absent or unusable. */
  async frontend(key: string): Promise<FrontendSpec | null> {
    const redisKey = this.keys.frontend(key);
    let items: string[];
    try {
      items = (await this.client().send(['LRANGE', redisKey, '0', '-1'])) as string[];
    } catch (err) {
      if (isWrongType(err)) {
        this.log.warn('skipping frontend key: not a list', { key: redisKey });
        return null;
      }
      throw err;
    }
    const frontend = frontendOfList(key, items);
    if (frontend !== null) {
      warnMalformed(this.log, redisKey, frontend.backends, malformedBackends(frontend.backends));
      warnUnmatchable(this.log, redisKey, key);
    }
    return frontend;
  }

  /**
   * The frontend at `key` and when Redis will expire it (null: never), read
   * together: a deadline no later than Redis' own (counted from the moment
   * PTTL was sent).
   */
  async frontendAndDeadline(key: string): Promise<{ frontend: FrontendSpec | null; until: number | null }> {
    const sentAt = Date.now();
    const [frontend, pttl] = await Promise.all([this.frontend(key), this.client().send(['PTTL', this.keys.frontend(key)])]);
    return { frontend, until: frontend !== null && typeof pttl === 'number' && pttl >= 0 ? sentAt + pttl : null };
  }

  /** The value of `tls:<name>`, as EmittedCertificates judges it. */
  async certificate(name: string): Promise<StoredCertificate> {
    let value: unknown;
    try {
      value = await this.client().send(['GET', this.keys.tls(name)]);
    } catch (err) {
      if (isWrongType(err)) return { kind: 'not-a-string' };
      throw err;
    }
    if (typeof value !== 'string') return { kind: 'absent' };
    const pem = value;
    return { kind: 'pem', digest: digestOf(pem), text: () => pem };
  }

  /** The value of `tls:<name>` and when Redis will expire it (null: never), as frontendAndDeadline. */
  async certificateAndDeadline(name: string): Promise<{ stored: StoredCertificate; until: number | null }> {
    const sentAt = Date.now();
    const [stored, pttl] = await Promise.all([this.certificate(name), this.client().send(['PTTL', this.keys.tls(name)])]);
    return { stored, until: stored.kind !== 'absent' && typeof pttl === 'number' && pttl >= 0 ? sentAt + pttl : null };
  }

  /** The fields of `options:<key>` (a frontend key), as HeldOptions judges them. */
  async options(key: string): Promise<StoredOptions> {
    let reply: Reply;
    try {
      reply = await this.client().send(['HGETALL', this.keys.options(key)]);
    } catch (err) {
      if (isWrongType(err)) return { kind: 'not-a-hash' };
      throw err;
    }
    const fields = hashFields(reply);
    return Object.keys(fields).length === 0 ? { kind: 'absent' } : { kind: 'hash', fields };
  }

  /** The fields of `options:<key>` and when Redis will expire the hash (null: never), as frontendAndDeadline. */
  async optionsAndDeadline(key: string): Promise<{ stored: StoredOptions; until: number | null }> {
    const sentAt = Date.now();
    const [stored, pttl] = await Promise.all([this.options(key), this.client().send(['PTTL', this.keys.options(key)])]);
    return { stored, until: stored.kind !== 'absent' && typeof pttl === 'number' && pttl >= 0 ? sentAt + pttl : null };
  }

  /** Dead marks of one requested host. */
  async dead(host: string, now = Date.now()): Promise<DeadMark[]> {
    const redisKey = this.keys.dead(host);
    let members: string[];
    let pttl: number;
    try {
      const reply = await this.client().multi([['SMEMBERS', redisKey], ['PTTL', redisKey]]);
      members = reply[0] as unknown as string[];
      pttl = Number(reply[1]);
    } catch (err) {
      if (isWrongType(err)) {
        this.log.warn('skipping dead key: not a set', { key: redisKey });
        return [];
      }
      throw err;
    }
    return this.toMarks(host, redisKey, members, pttl, now);
  }

  toMarks(host: string, redisKey: string, members: string[], pttl: number, now: number): DeadMark[] {
    if (pttl === -2) return [];
    const until = pttl === -1 ? NO_EXPIRY : now + pttl;
    const marks: DeadMark[] = [];
    for (const member of members) {
      if (!/^\d+$/.test(member)) {
        this.log.warn('dead set member is not a backend index, ignored', { key: redisKey, member });
        continue;
      }
      marks.push({ host, index: Number(member), until });
    }
    return marks;
  }

  /** Every key of a kind, page by page, with SCAN (never KEYS). */
  async scan(kind: KeyKind, onPage: (names: string[]) => Promise<void>): Promise<void> {
    let cursor = '0';
    const match = this.keys.pattern(kind);
    do {
      const [next, redisKeys] = (await this.client().send(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'])) as [string, string[]];
      cursor = next;
      const names: string[] = [];
      for (const redisKey of redisKeys) {
        const ref = this.keys.parse(redisKey);
        if (ref !== null && ref.kind === kind) names.push(ref.host);
      }
      if (names.length > 0) await onPage(names);
    } while (cursor !== '0');
  }
}

/** An HGETALL reply: a flat [field, value, ...] array (RESP2), or a map (RESP3, node-redis: an object or a Map). */
export function hashFields(reply: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
  } else if (reply instanceof Map) {
    for (const [field, value] of reply) fields[String(field)] = String(value);
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [field, value] of Object.entries(reply)) fields[field] = String(value);
  }
  return fields;
}

function isWrongType(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // A failed MULTI rejects with a MultiReplyError, whose per-command errors are in `replies`.
  const { replies, errorIndexes } = err as { replies?: unknown[]; errorIndexes?: number[] };
  if (replies !== undefined && errorIndexes !== undefined && errorIndexes.length > 0) {
    return errorIndexes.every((i) => isWrongType(replies[i]));
  }
  return err.message.startsWith('WRONGTYPE');
}
