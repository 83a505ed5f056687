import type { RequestBody } from '../client.js';

/** Body bytes held for a consumer that is not taking them before the client's socket stops being read. */
const HIGH_WATER_MARK = 64 * 1024;

/** What a body needs from the connection it arrives on. */
export interface BodyReader {
  /** Stop reading the client's socket: the body's consumer is behind. */
  stopReading(): void;
  /** Read it again. */
  startReading(): void;
}

/**
 * A request body of known length (Content-Length) as it arrives on a fast
 * front end connection, shaped as the proxy reads node:http's request
 * (RequestBody): 'data' while flowing, held while paused or before anyone
 * listens, 'end' once all of it was taken. The connection feeds it with
 * take() and reads on only while it holds less than HIGH_WATER_MARK, so a
 * backend that reads slowly slows the client, as with node:http. One 'data'
 * and one 'end' listener at a time: the proxy's one consumer is the backend
 * connection sending the body, and a retry takes over from the first.
 */
export class FastBody implements RequestBody {
  readonly readableHighWaterMark = HIGH_WATER_MARK;
  readableLength = 0;
  /** Every byte arrived from the client. */
  complete = false;
  /** Some of it went to a consumer: a retry would lose it. */
  didRead = false;
  #remaining: number;
  #held: Buffer[] = [];
  #onData: ((chunk: Buffer) => void) | null = null;
  #onEnd: (() => void) | null = null;
  #paused = false;
  /** Nobody will take it: what is left is read and dropped, so the connection can go on. */
  #discarding = false;
  #ended = false;
  #flushQueued = false;
  /** This body stopped the socket's reading. */
  #stoppedReading = false;

  constructor(
    length: number,
    private readonly reader: BodyReader,
  ) {
    this.#remaining = length;
  }

  /** Takes this body's bytes from the start of `data` and returns how many it took. */
  take(data: Buffer): number {
    const n = Math.min(this.#remaining, data.length);
    if (n === 0) return 0;
    this.#remaining -= n;
    if (this.#remaining === 0) this.complete = true;
    if (this.#discarding) return n;
    const chunk = n === data.length ? data : data.subarray(0, n);
    if (this.#flowing && this.#held.length === 0) {
      this.didRead = true;
      this.#onData!(chunk);
    } else {
      this.#held.push(chunk);
      this.readableLength += n;
      if (!this.complete && this.readableLength >= HIGH_WATER_MARK && !this.#stoppedReading) {
        this.#stoppedReading = true;
        this.reader.stopReading();
      }
    }
    if (this.complete) this.#queueFlush();
    return n;
  }

  on(event: 'data' | 'end', listener: ((chunk: Buffer) => void) | (() => void)): this {
    if (event === 'data') {
      if (this.#onData !== null) throw new Error('a request body has one consumer at a time');
      this.#onData = listener as (chunk: Buffer) => void;
    } else this.#onEnd = listener as () => void;
    this.#queueFlush();
    return this;
  }

  off(event: 'data' | 'end', listener: ((chunk: Buffer) => void) | (() => void)): this {
    if (event === 'data' && this.#onData === listener) this.#onData = null;
    else if (event === 'end' && this.#onEnd === listener) this.#onEnd = null;
    return this;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    this.#queueFlush();
    return this;
  }

  takeWhole(): Buffer | null {
    if (!this.complete || this.didRead || this.#discarding || this.#held.length === 0) return null;
    const whole = this.#held.length === 1 ? this.#held[0]! : Buffer.concat(this.#held);
    this.#held = [];
    this.readableLength = 0;
    this.didRead = true;
    this.#ended = true;
    this.#startReading();
    return whole;
  }

  /** Drops what is held and what is still to come (see #discarding). */
  discard(): void {
    this.#discarding = true;
    this.#held = [];
    this.readableLength = 0;
    this.#onData = null;
    this.#onEnd = null;
    this.#startReading();
  }

  get #flowing(): boolean {
    return this.#onData !== null && !this.#paused;
  }

  // As a Readable does, data is delivered after the listener's caller returns, never within it.
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    while (this.#flowing && this.#held.length > 0) {
      const chunk = this.#held.shift()!;
      this.readableLength -= chunk.length;
      this.didRead = true;
      this.#onData!(chunk);
    }
    if (this.#held.length > 0) return;
    this.#startReading();
    if (this.complete && this.#flowing && this.#onEnd !== null && !this.#ended) {
      this.#ended = true;
      this.#onEnd();
    }
  };

  #startReading(): void {
    if (!this.#stoppedReading) return;
    this.#stoppedReading = false;
    this.reader.startReading();
  }
}
