import type { AccessLogFormat } from '../config/types.js';
import { fittedLine, lineFormat, type LineFormat } from './access-log-format.js';
import { LogOutput, PIPE_BUF, STDOUT_PATH } from './log-output.js';
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
  readonly #toPipe: boolean;
  #buffer = '';
  #timer: NodeJS.Timeout | undefined;

  /** `path`: a file, or "-" for standard output. */
  constructor(path: string, format: AccessLogFormat) {
    this.#output = new LogOutput(path);
    this.#toPipe = path === STDOUT_PATH;
    this.#format = lineFormat(format);
  }

  write(outcome: RequestOutcome): void {
    // Standard output is one pipe for every worker: a line longer than a pipe takes whole could be cut by another's.
    this.#buffer += this.#toPipe ? fittedLine(this.#format, outcome, performance.now(), PIPE_BUF) : this.#format(outcome, performance.now());
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
