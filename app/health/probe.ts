// One health check: a GET of the check's path on the backend's own address,
// with the frontend's Host. A redirect is an answer like any other (node:http
// never follows one), so a Location pointing elsewhere is never requested.

import http from 'node:http';
import { parseBackend } from '../../src/frontends/backend.js';
import { dialBackend } from '../../src/proxy/upstream/dial.js';

export interface ProbeResult {
  passed: boolean;
  /** The answer's status; null when none came. */
  status: number | null;
  /** Why it failed without an answer: "timeout", or the socket error's code. */
  error: string | null;
  ms: number;
}

export interface ProbeRequest {
  url: string;
  host: string;
  path: string;
  timeoutMs: number;
}

/** Runs one check; never rejects. A status of 200-399 passes. */
export function probe(request: ProbeRequest): Promise<ProbeResult> {
  const started = performance.now();
  const target = parseBackend(request.url);
  if (target === null) return Promise.resolve({ passed: false, status: null, error: 'BAD_URL', ms: 0 });
  const result = (status: number | null, error: string | null): ProbeResult => ({
    passed: status !== null && status >= 200 && status < 400,
    status,
    error,
    ms: Math.round(performance.now() - started),
  });
  let req: http.ClientRequest;
  try {
    req = http.request({
      // The backend's own socket (TLS for https://, its certificate checked as the proxy does): nowhere else.
      createConnection: () => dialBackend(target),
      method: 'GET',
      path: target.pathPrefix + request.path,
      headers: { host: request.host, 'user-agent': 'Switchyard-HealthCheck', connection: 'close' },
    });
  } catch (err) {
    // A Host or path node:http refuses to write (a character it does not allow): a failed check, never a thrown one.
    return Promise.resolve(result(null, (err as NodeJS.ErrnoException).code ?? 'BAD_REQUEST'));
  }
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number | null, error: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result(status, error));
    };
    const timer = setTimeout(() => finish(null, 'timeout'), request.timeoutMs);
    // The status is all a check needs: the body is not read.
    req.on('response', (res) => finish(res.statusCode ?? null, null));
    req.on('error', (err: NodeJS.ErrnoException) => finish(null, err.code ?? err.message));
    req.end();
  });
}
