import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientStallLimit } from './limits.js';

/** Parsed pipelined requests waiting on one connection before node:http stops reading it. */
const MAX_WAITING = 16;

type Serve = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * node:http emits every request it parses at once, pipelined ones included,
 * before the answers ahead of them are written. Served that way, a client
 * that pipelines thousands of requests and never reads would have them all
 * forwarded and their answers buffered. So requests on one node:http
 * connection are served one at a time, in order, as nginx serves them: the
 * next starts once the answer before it is handed to the client's socket
 * (its response's 'close'); past MAX_WAITING parsed requests the socket is
 * no longer read (the read under way is still parsed: at most 64 KiB more).
 */
export function oneAtATime(serve: Serve, clientStall: ClientStallLimit): Serve {
  const pipelines = new WeakMap<Socket, Pipeline>();
  return (req, res) => {
    const socket = req.socket;
    let pipeline = pipelines.get(socket);
    if (pipeline === undefined) pipelines.set(socket, (pipeline = new Pipeline(socket, serve, clientStall)));
    pipeline.push(req, res);
  };
}

/**
 * node:http reads a socket straight from its handle (its parser consumes
 * it), and resumes the socket after every message it parses: a paused
 * stream is not enough. The handle is stopped, as node:http's own 'pause'
 * handler stops it, and stopped again whenever anything resumes the socket
 * while requests wait. (node:http's `_paused` flag is left alone: it pauses
 * the parser too, and a TLS socket hands the records it already decrypted
 * to a paused parser, which takes them for a parse error.)
 */
type HttpSocket = Socket & { _handle?: { reading?: boolean; readStop?(): number } | null };

class Pipeline {
  #busy = false;
  readonly #waiting: [IncomingMessage, ServerResponse][] = [];
  /** The socket is not read: MAX_WAITING requests wait. */
  #holding = false;
  /** Armed once the answer is written, until the client's socket has taken it. */
  #flush: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: HttpSocket,
    private readonly serve: Serve,
    private readonly clientStall: ClientStallLimit,
  ) {
    // Whoever resumes the socket meanwhile (node:http after each message, or once it drained), it stays held.
    socket.on('resume', this.#keepHeld);
  }

  push(req: IncomingMessage, res: ServerResponse): void {
    if (!this.#busy) return this.#start(req, res);
    this.#waiting.push([req, res]);
    if (this.#waiting.length >= MAX_WAITING && !this.#holding) {
      this.#holding = true;
      this.#keepHeld();
    }
  }

  readonly #keepHeld = (): void => {
    if (!this.#holding) return;
    const socket = this.socket;
    socket.pause();
    const handle = socket._handle;
    if (handle?.reading === true) {
      handle.reading = false;
      handle.readStop?.();
    }
  };

  /** Every parsed request is served: read on (unless node:http holds the socket itself, for a client that does not read). */
  #release(): void {
    this.#holding = false;
    this.socket.resume();
  }

  #start(req: IncomingMessage, res: ServerResponse): void {
    this.#busy = true;
    res.once('prefinish', this.#written);
    res.once('close', this.#done);
    this.serve(req, res);
  }

  /**
   * The whole answer is written; 'finish' follows once the socket took it.
   * A client that reads nothing of it for idleTimeout is cut (SPEC §6), as
   * a download whose client stops reading is (upstream/connection.ts).
   */
  readonly #written = (): void => {
    this.#flush = setTimeout(this.#stalled, this.clientStall.ms).unref();
  };

  readonly #stalled = (): void => {
    this.clientStall.counters.stalledDownloads++;
    this.socket.destroy();
  };

  readonly #done = (): void => {
    clearTimeout(this.#flush);
    this.#busy = false;
    if (this.socket.destroyed || !this.socket.writable) {
      this.#waiting.length = 0;
      return;
    }
    const next = this.#waiting.shift();
    if (this.#waiting.length === 0 && this.#holding) this.#release();
    if (next !== undefined) this.#start(next[0], next[1]);
  };
}
