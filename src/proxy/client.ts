// The client's side of one request, as the proxy uses it. node:http's
// IncomingMessage and ServerResponse fit these shapes as they are; the fast
// front end (src/proxy/front/) implements them on a bare socket.

export interface ClientSocketInfo {
  readonly remoteAddress?: string | undefined;
  readonly localPort?: number | undefined;
  /** Set on a TLS socket. */
  readonly encrypted?: boolean;
}

export interface ClientRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion: string;
  /** Flat [name, value, ...] as the client spelled them. */
  readonly rawHeaders: string[];
  readonly socket: ClientSocketInfo;
  /** The whole request, body included, has been read. */
  readonly complete: boolean;
  /** Some of the body has been read (a retry would lose it). */
  readonly readableDidRead: boolean;
  /** Reads and discards what is left of the body. */
  resume(): unknown;
}

/**
 * A request body as the proxy reads it: node:http's IncomingMessage fits,
 * and the fast front end's FastBody (front/request-body.ts). The proxy
 * takes it by 'data' and 'end' and holds it back with pause()/resume().
 */
export interface RequestBody {
  /** Every byte of the body has arrived from the client. */
  readonly complete?: boolean;
  /** Bytes received and not yet taken. */
  readonly readableLength: number;
  /** At this many bytes held, the client's socket is no longer read. */
  readonly readableHighWaterMark: number;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'end', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  /**
   * The whole body, when all of it has arrived and none was taken yet; it
   * is taken then (no 'data' nor 'end' follow). Lets the head and a small
   * body leave in one write. Absent (node:http's request) or null: stream it.
   */
  takeWhole?(): Buffer | null;
}

export interface ClientResponse {
  statusCode: number;
  readonly headersSent: boolean;
  readonly writableFinished: boolean;
  /** False: the connection closes after this response. */
  shouldKeepAlive: boolean;
  /** Throws when a header cannot be sent (a name that is not a token, a control character in a value). */
  writeHead(status: number, reason: string | undefined, headers: string[]): unknown;
  /** False: wait for 'drain' before writing more. */
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): unknown;
  destroy(): unknown;
  /** 'close': the response is done or the client left (`writableFinished` tells which). */
  once(event: 'close' | 'drain', listener: () => void): unknown;
}
