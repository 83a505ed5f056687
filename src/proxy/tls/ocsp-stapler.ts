// OCSP stapling (SPEC §7): a handshake whose client asks for the
// certificate's status (status_request) gets the response cached for that
// certificate, if there is a current one. A handshake never waits on a
// responder: the first one for a certificate only starts the background
// fetch, and the responses are refreshed before they expire.
import { createHash, X509Certificate } from 'node:crypto';
import { logger } from '../../log.js';
import { postOcspRequest, type OcspFetch } from './ocsp-fetch.js';
import { certId, ocspRequest, ocspResponderUrl, OcspError, readOcspResponse, type CertId } from './ocsp-message.js';

const log = logger('ocsp');

/**
 * none: the certificate names no http:// OCSP responder; pending: the first
 * fetch is under way; good: a response is stapled; revoked, unknown: what
 * the responder said (never stapled); failed: the last fetch failed (a
 * response still current goes on being stapled); no-issuer: the issuer is
 * not in the certificate's chain, so no request can be made.
 */
export type StaplingState = 'none' | 'pending' | 'good' | 'revoked' | 'unknown' | 'failed' | 'no-issuer';

export interface StaplingInfo {
  state: StaplingState;
  /** A response is handed to handshakes now. */
  stapled: boolean;
  responder: string | null;
  /** Until when the stapled response is current (ISO), or null. */
  validUntil: string | null;
  /** Why the last fetch failed (an OcspError's code and message), or null. */
  error: string | null;
}

export interface StaplerOptions {
  /** The fingerprints (X509Certificate.fingerprint256) of every certificate served now: the others' responses are dropped. */
  inForce: () => Iterable<string>;
  fetch?: OcspFetch;
  timeoutMs?: number;
  /** How often responses of certificates that left the table, or expired, are dropped. */
  sweepMs?: number;
  now?: () => number;
  /** Schedules the refreshes (the tests' own clock); default setTimeout, unref'd. */
  timers?: Timers;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A response with no nextUpdate ("newer information is always available") is taken as current this long. */
const NO_NEXT_UPDATE_MS = 60 * 60_000;
/** The soonest a response is fetched again after a success. */
const MIN_REFRESH_MS = 60_000;
/** Backoff after a failed fetch: doubled each time, up to the maximum. */
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 10 * 60_000;

interface Entry {
  readonly fingerprint: string;
  readonly responder: string | null;
  readonly id: CertId | null;
  readonly issuer: Buffer | null;
  state: StaplingState;
  response: Buffer | null;
  validUntil: number;
  error: OcspError | null;
  failures: number;
  timer: unknown;
}

/** node:crypto's fingerprint256 of a DER certificate, without parsing it. */
function fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().replace(/..(?!$)/g, '$&:');
}

export class OcspStapler {
  readonly #entries = new Map<string, Entry>();
  readonly #fetch: OcspFetch;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #sweep: NodeJS.Timeout;
  /** Fetches made, and those that failed (HTTP, timeout, or a response that did not pass the checks). */
  fetches = 0;
  failures = 0;

  constructor(private readonly options: StaplerOptions) {
    this.#fetch = options.fetch ?? postOcspRequest;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? realTimers;
    this.#sweep = setInterval(() => this.sweep(), options.sweepMs ?? 60_000).unref();
  }

  /** The server's 'OCSPRequest' listener: answers at once, from the cache only. */
  readonly onRequest = (certificate: Buffer, issuer: Buffer | null, done: (err: Error | null, response?: Buffer) => void): void => {
    const fp = fingerprint(certificate);
    const entry = this.#entries.get(fp);
    if (entry === undefined) {
      done(null);
      // Parsing the certificate is off the handshake too.
      setImmediate(() => this.#track(fp, certificate, issuer));
      return;
    }
    done(null, this.#current(entry) ?? undefined);
  };

  /** What stapling does for a certificate, by fingerprint; null when no handshake asked for it yet. */
  info(fp: string): StaplingInfo | null {
    const entry = this.#entries.get(fp);
    if (entry === undefined) return null;
    const current = this.#current(entry);
    return {
      state: entry.state,
      stapled: current !== null,
      responder: entry.responder,
      validUntil: current === null ? null : new Date(entry.validUntil).toISOString(),
      error: entry.error === null ? null : `${entry.error.code}: ${entry.error.message}`,
    };
  }

  /** Drops what belongs to certificates no longer served, and responses past their nextUpdate. */
  sweep(): void {
    if (this.#entries.size === 0) return;
    const served = new Set(this.options.inForce());
    for (const [fp, entry] of this.#entries) {
      if (!served.has(fp)) {
        this.#timers.clear(entry.timer);
        this.#entries.delete(fp);
      } else this.#current(entry);
    }
  }

  stop(): void {
    clearInterval(this.#sweep);
    for (const entry of this.#entries.values()) this.#timers.clear(entry.timer);
    this.#entries.clear();
  }

  /** The entry's response while it is current; an expired one is dropped here. */
  #current(entry: Entry): Buffer | null {
    if (entry.response !== null && entry.validUntil <= this.#now()) entry.response = null;
    return entry.response;
  }

  #track(fp: string, certificate: Buffer, issuer: Buffer | null): void {
    if (this.#entries.has(fp)) return; // several handshakes before the first setImmediate ran
    let responder: string | null = null;
    let id: CertId | null = null;
    try {
      responder = ocspResponderUrl(new X509Certificate(certificate));
      if (responder !== null && issuer !== null) id = certId(certificate, issuer);
    } catch (err) {
      log.warn('certificate not understood for OCSP; not stapled', { fingerprint: fp, error: (err as Error).message });
      responder = null;
    }
    const state: StaplingState = responder === null ? 'none' : id === null ? 'no-issuer' : 'pending';
    const entry: Entry = { fingerprint: fp, responder, id, issuer, state, response: null, validUntil: 0, error: null, failures: 0, timer: undefined };
    this.#entries.set(fp, entry);
    if (state === 'no-issuer') log.warn('the issuer of a certificate naming an OCSP responder is not in its chain; not stapled', { fingerprint: fp, responder });
    if (state === 'pending') void this.#refresh(entry);
  }

  async #refresh(entry: Entry): Promise<void> {
    entry.timer = undefined;
    this.fetches++;
    let next: number;
    try {
      const body = await this.#fetch(entry.responder!, ocspRequest(entry.id!), this.#timeoutMs);
      const now = this.#now();
      const answer = readOcspResponse(body, entry.id!, entry.issuer!, now);
      if (this.#entries.get(entry.fingerprint) !== entry) return; // its certificate left meanwhile
      const validUntil = answer.nextUpdate ?? now + NO_NEXT_UPDATE_MS;
      // Only a good status is stapled: a client is better served by no staple than by a revoked one it may ignore.
      entry.response = answer.status === 'good' ? body : null;
      entry.validUntil = validUntil;
      entry.failures = 0;
      this.#enter(entry, answer.status, null);
      // Half way through the validity, so that a failing responder leaves time for retries.
      next = Math.max(MIN_REFRESH_MS, (Math.max(now, answer.thisUpdate) + validUntil) / 2 - now);
    } catch (err) {
      if (this.#entries.get(entry.fingerprint) !== entry) return;
      this.failures++;
      entry.failures++;
      const error = err instanceof OcspError ? err : new OcspError('OCSP_HTTP', (err as Error).message);
      this.#enter(entry, 'failed', error);
      next = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (entry.failures - 1));
    }
    entry.timer = this.#timers.set(() => void this.#refresh(entry), next);
  }

  /** Logs a change of state (or of the reason of a failure) once, not every retry. */
  #enter(entry: Entry, state: StaplingState, error: OcspError | null): void {
    const changed = entry.state !== state || entry.error?.code !== error?.code;
    entry.state = state;
    entry.error = error;
    if (!changed) return;
    const fields = { fingerprint: entry.fingerprint, responder: entry.responder };
    if (error !== null) log.warn('OCSP fetch failed; retrying with backoff', { ...fields, code: error.code, error: error.message, stapled: this.#current(entry) !== null });
    else if (state === 'good') log.info('OCSP response stapled', { ...fields, validUntil: new Date(entry.validUntil).toISOString() });
    else log.warn(`OCSP responder says ${state}; not stapled`, fields);
  }
}
