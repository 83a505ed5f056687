import { createWriteStream, type WriteStream } from 'node:fs';
import { logger } from '../log.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FLUSH_MS = 100;
const FLUSH_BYTES = 64 * 1024;

export interface AccessEntry {
  remoteAddress: string;
  method: string;
  url: string;
  httpVersion: string;
  status: number;
  bytes: number;
  referer: string | undefined;
  userAgent: string | undefined;
}

/**
 * nginx "combined" access log. Lines are batched and written with one
 * append per flush, so whole lines from several workers never interleave
 * and a request never waits on the disk.
 */
export class AccessLog {
  readonly #log = logger('access-log');
  readonly #stream: WriteStream;
  #buffer = '';
  #timer: NodeJS.Timeout | undefined;
  #second = -1;
  #stamp = '';

  constructor(path: string) {
    this.#stream = createWriteStream(path, { flags: 'a' });
    this.#stream.on('error', (err) => this.#log.error('cannot write access log', { path, error: err.message }));
  }

  write(e: AccessEntry): void {
    this.#buffer +=
      `${e.remoteAddress} - - [${this.#time()}] "${escape(e.method)} ${escape(e.url)} HTTP/${escape(e.httpVersion)}" ${e.status} ${e.bytes} ` +
      `"${quote(e.referer)}" "${quote(e.userAgent)}"\n`;
    if (this.#buffer.length >= FLUSH_BYTES) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0) return;
    this.#stream.write(this.#buffer);
    this.#buffer = '';
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.#stream.end(resolve));
  }

  /** `25/Nov/2026:10:00:00 +0000`, formatted once per second. */
  #time(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      const d = new Date(now);
      const pad = (n: number) => String(n).padStart(2, '0');
      this.#stamp = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
      this.#second = second;
    }
    return this.#stamp;
  }
}

function quote(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  return escape(value);
}

/**
 * As nginx escapes log fields: `"`, `\` and bytes outside printable ASCII
 * become \xHH, so no request can end a field early or forge a line.
 */
function escape(value: string): string {
  return UNSAFE.test(value) ? value.replace(UNSAFE_ALL, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`) : value;
}

const UNSAFE = /["\\\x00-\x1f\x7f-\uffff]/;
const UNSAFE_ALL = /["\\\x00-\x1f\x7f-\uffff]/g;
