import { close as closeFd, open, write } from 'node:fs';
import { logger } from '../log.js';

const log = logger('access-log');

/** server.accessLog "-": standard output (containers). */
export const STDOUT_PATH = '-';
const STDOUT_FD = 1;
/**
 * Writes to a pipe of at most this many bytes are atomic (POSIX PIPE_BUF on
 * Linux): standard output is shared by every worker, so it is written in
 * pieces no larger, each ending a line, and no line is cut by another
 * worker's.
 */
export const PIPE_BUF = 4096;
/** Text held while the disk (or whoever reads standard output) does not keep up; beyond it, lines are dropped and counted. */
const MAX_PENDING = 16 * 1024 * 1024;
/** A failing output is reported at most this often (with the lines lost meanwhile), not per line. */
const REPORT_INTERVAL_MS = 10_000;
/** Standard output set non-blocking by someone and full: tried again after this long. */
const RETRY_MS = 20;

/**
 * Where the access log's batches go: a file opened for appending (O_APPEND:
 * each write lands whole at the end, whatever the other workers write), or
 * standard output. One write at a time, in the thread pool, so neither a
 * slow disk nor a full pipe ever blocks a request. A write that fails (a full
 * disk) loses its lines, never a request; the proxy serves on and the next
 * batch tries again.
 */
export class LogOutput {
  #fd: number | null = null;
  #pending = '';
  #busy = false;
  #reopen = false;
  /** Lines lost since the last report. */
  #lost = 0;
  #failing = false;
  #lastReport = -Infinity;
  #whenIdle: (() => void)[] = [];

  constructor(readonly path: string) {
    // Opened at once: an unwritable path is reported at start, not at the first request.
    if (path === STDOUT_PATH) this.#fd = STDOUT_FD;
    else this.#open();
  }

  get #toStdout(): boolean {
    return this.path === STDOUT_PATH;
  }

  write(text: string): void {
    if (this.#pending.length + text.length > MAX_PENDING) return this.#lose(countLines(text), 'the output does not keep up');
    this.#pending += text;
    this.#next();
  }

  /** The file was moved away (logrotate): what follows goes to a new file at the configured path. */
  reopen(): void {
    if (this.#toStdout) return;
    this.#reopen = true;
    this.#next();
  }

  /** Resolves once everything written so far is out (or lost), the file closed. */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#whenIdle.push(resolve);
      this.#next();
    }).then(() => {
      if (this.#fd !== null && this.#fd !== STDOUT_FD) closeFd(this.#fd, () => {});
      this.#fd = null;
    });
  }

  #next(): void {
    if (this.#busy) return;
    if (this.#fd === null || this.#reopen) return this.#open();
    if (this.#pending.length === 0) return this.#settled();
    const data = Buffer.from(this.#pending);
    this.#pending = '';
    this.#busy = true;
    this.#writeFrom(this.#fd, data, 0);
  }

  #writeFrom(fd: number, data: Buffer, at: number): void {
    const end = this.#toStdout ? pieceEnd(data, at) : data.length;
    write(fd, data, at, end - at, null, (err, written) => {
      if (err?.code === 'EAGAIN') return void setTimeout(() => this.#writeFrom(fd, data, at), RETRY_MS);
      if (err) {
        this.#lose(countLines(data.subarray(at)), err.message);
      } else {
        this.#recovered();
        if (at + written < data.length) return this.#writeFrom(fd, data, at + written);
      }
      this.#busy = false;
      this.#next();
    });
  }

  #open(): void {
    this.#busy = true;
    this.#reopen = false;
    open(this.path, 'a', 0o644, (err, fd) => {
      this.#busy = false;
      if (err) {
        // A failed reopen keeps writing where it wrote before; with nothing open, the lines are lost.
        if (this.#fd === null) {
          this.#lose(countLines(this.#pending), `cannot open: ${err.message}`);
          this.#pending = '';
          return this.#settled();
        }
        this.#lose(0, `cannot reopen: ${err.message}`);
      } else {
        if (this.#fd !== null) closeFd(this.#fd, () => {});
        this.#fd = fd;
      }
      this.#next();
    });
  }

  #settled(): void {
    const waiting = this.#whenIdle;
    this.#whenIdle = [];
    for (const resolve of waiting) resolve();
  }

  #lose(lines: number, reason: string): void {
    this.#lost += lines;
    this.#failing = true;
    const now = Date.now();
    if (now - this.#lastReport < REPORT_INTERVAL_MS) return;
    this.#lastReport = now;
    log.error('cannot write access log', { path: this.path, error: reason, linesLost: this.#lost });
    this.#lost = 0;
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    log.warn('access log written again', { path: this.path, linesLostSinceLastReport: this.#lost });
    this.#lost = 0;
  }
}

/** Where the piece of `data` from `at` ends: at most PIPE_BUF bytes, at a line's end (a longer line goes whole). */
function pieceEnd(data: Buffer, at: number): number {
  if (data.length - at <= PIPE_BUF) return data.length;
  const last = data.lastIndexOf(0x0a, at + PIPE_BUF - 1);
  if (last >= at) return last + 1;
  const first = data.indexOf(0x0a, at);
  return first === -1 ? data.length : first + 1;
}

function countLines(text: string | Buffer): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
