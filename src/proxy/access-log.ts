import type { AccessLogFormat } from '../config/types.js';
import { lineFormat, type LineFormat } from './access-log-format.js';
import { LogOutput } from './log-output.js';
import type { RequestOutcome } from './outcome.js';

const FLUSH_MS = 100;
const FLUSH_BYTES = 64 * 1024;

/**
 * The access log (server.accessLog, in server.accessLogFormat). Lines are
 * batched and handed to the output once per flush, so whole lines from
 * several workers never interleave, and a request never waits on the disk.
 */
export class AccessLog {
  readonly #output: LogOutput;
  readonly #format: LineFormat;
  #buffer = '';
  #timer: NodeJS.Timeout | undefined;

  /** `path`: a file, or "-" for standard output. */
  constructor(path: string, format: AccessLogFormat) {
    this.#output = new LogOutput(path);
    this.#format = lineFormat(format);
  }

  write(outcome: RequestOutcome): void {
    this.#buffer += this.#format(outcome, performance.now());
    if (this.#buffer.length >= FLUSH_BYTES) this.flush();
    else this.#timer ??= setTimeout(this.#flush, FLUSH_MS);
  }

  readonly #flush = (): void => this.flush();

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0) return;
    this.#output.write(this.#buffer);
    this.#buffer = '';
  }

  /** SIGUSR1 (logrotate): the lines so far go to the file being rotated, the next ones to a new file at the configured path. */
  reopen(): void {
    this.flush();
    this.#output.reopen();
  }

  close(): Promise<void> {
    this.flush();
    return this.#output.close();
  }
}
