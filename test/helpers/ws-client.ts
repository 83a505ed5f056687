// A WebSocket client (the `ws` package) talking to the proxy with a chosen
// Host header, plus the HTTP status of a refused upgrade: the helpers the
// WebSocket tests share.
import { WebSocket } from 'ws';

export interface WsConnectOptions {
  port: number;
  /** The Host header; the TCP connection always goes to `address`. */
  host: string;
  address?: string;
  /** wss:// (self-signed certificates accepted). */
  secure?: boolean;
  path?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A refused upgrade: the proxy answered with an HTTP status instead of 101. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly elapsedMs: number,
  ) {
    super(`upgrade refused with HTTP ${status} after ${elapsedMs} ms`);
  }
}

/** An open WebSocket whose messages are queued from the first one, so none is missed. */
export class WsClient {
  readonly #queue: string[] = [];
  #waiter: (() => void) | undefined;
  #closed = false;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.#queue.push(isBinary ? Buffer.from(data as Buffer).toString('hex') : String(data));
      this.#waiter?.();
    });
    ws.on('close', () => {
      this.#closed = true;
      this.#waiter?.();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next message (text, or hex for binary); rejects on close or timeout. */
  async next(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = this.#queue.shift();
      if (message !== undefined) return message;
      if (this.#closed) throw new Error('websocket closed while waiting for a message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no websocket message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  /** Sends `text` and returns the reply (the test backends answer `<name>:<text>`). */
  async echo(text: string | Buffer, timeoutMs = 5000): Promise<string> {
    this.ws.send(text);
    return this.next(timeoutMs);
  }

  /** Resolves once the connection is closed (by either side). */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      if (Date.now() > deadline) throw new Error(`websocket still open after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.ws.close();
  }

  /** Drops the TCP connection without a close frame (an abrupt client). */
  destroy(): void {
    this.ws.terminate();
  }
}

/** Opens a WebSocket through the proxy; rejects with UpgradeRefused when it answers an HTTP error. */
export function connectWs(opts: WsConnectOptions): Promise<WsClient> {
  const { port, host, address = '127.0.0.1', secure = false, path = '/', timeoutMs = 5000 } = opts;
  const started = Date.now();
  const url = `${secure ? 'wss' : 'ws'}://${address}:${port}${path}`;
  const ws = new WebSocket(url, {
    headers: { ...opts.headers, host },
    rejectUnauthorized: false,
    handshakeTimeout: timeoutMs,
  });
  const client = new WsClient(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (req, res) => {
      res.resume();
      req.destroy();
      reject(new UpgradeRefused(res.statusCode ?? 0, Date.now() - started));
    });
    ws.on('error', (err) => reject(err));
  });
}

/** The HTTP status a refused upgrade gets, with how long it took; fails if the upgrade succeeds. */
export async function refusedUpgrade(opts: WsConnectOptions): Promise<UpgradeRefused> {
  try {
    const client = await connectWs(opts);
    client.destroy();
  } catch (err) {
    if (err instanceof UpgradeRefused) return err;
    throw err;
  }
  throw new Error(`the upgrade for ${opts.host} was expected to be refused but succeeded`);
}
