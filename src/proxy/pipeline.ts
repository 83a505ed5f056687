import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientStallLimit } from './limits.js';
import { sweepFor, type Sweep, type Watched } from './sweep.js';

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

class Pipeline implements Watched {
  /** The answer being served; null between requests. */
  #serving: ServerResponse | null = null;
  readonly #waiting: [IncomingMessage, ServerResponse][] = [];
  /** The socket is not read: MAX_WAITING requests wait. */
  #holding = false;
  /** When a sweep first saw the answer written and not yet taken by the client's socket; -1: not seen so. */
  #writtenSince = -1;
  readonly #sweep: Sweep;

  constructor(
    private readonly socket: HttpSocket,
    private readonly serve: Serve,
    private readonly clientStall: ClientStallLimit,
  ) {
    // Whoever resumes the socket meanwhile (node:http after each message, or once it drained), it stays held.
    socket.on('resume', this.#keepHeld);
    this.#sweep = sweepFor(clientStall.ms);
    this.#sweep.add(this);
    socket.once('close', () => this.#sweep.delete(this));
  }

  push(req: IncomingMessage, res: ServerResponse): void {
    if (this.#serving === null) return this.#start(req, res);
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
    this.#serving = res;
    res.on('close', this.#done);
    this.serve(req, res);
  }

  /**
   * An answer written whole and not taken by the client's socket (no
   * 'finish') for idleTimeout is cut (SPEC §6), as a download whose client
   * stops reading is (upstream/connection.ts).
   */
  look(now: number): void {
    const res = this.#serving;
    if (res === null || !res.writableEnded || res.writableFinished) {
      this.#writtenSince = -1;
      return;
    }
    if (this.#writtenSince === -1) this.#writtenSince = now;
    else if (now - this.#writtenSince >= this.clientStall.ms) {
      this.clientStall.counters.stalledDownloads++;
      this.socket.destroy();
    }
  }

  readonly #done = (): void => {
    this.#serving = null;
    this.#writtenSince = -1;
    if (this.socket.destroyed || !this.socket.writable) {
      this.#waiting.length = 0;
      return;
    }
    const next = this.#waiting.shift();
    if (this.#waiting.length === 0 && this.#holding) this.#release();
    if (next !== undefined) this.#start(next[0], next[1]);
  };
}
