// One POST of an OCSP request to a responder. Responders speak plain HTTP
// (the answer is signed); only http:// URLs get here (ocspResponderUrl).
import http from 'node:http';
import { OcspError } from './ocsp-message.js';

/** An OCSP response is a few kilobytes; a responder sending more is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export type OcspFetch = (url: string, request: Buffer, timeoutMs: number) => Promise<Buffer>;

/** POSTs `request` (DER) to `url`; the response body, or an OcspError (OCSP_HTTP, OCSP_TIMEOUT). */
export const postOcspRequest: OcspFetch = (url, request, timeoutMs) =>
  new Promise((resolve, reject) => {
    const fail = (code: 'OCSP_HTTP' | 'OCSP_TIMEOUT', message: string): void => {
      req.destroy();
      reject(new OcspError(code, message));
    };
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', 'content-length': request.length, accept: 'application/ocsp-response' },
      agent: false,
    });
    // Covers the connect, the answer's head and its body alike.
    const timer = setTimeout(() => fail('OCSP_TIMEOUT', `no answer within ${timeoutMs} ms`), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new OcspError('OCSP_HTTP', err.message));
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        clearTimeout(timer);
        res.resume();
        return fail('OCSP_HTTP', `HTTP ${res.statusCode}`);
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          clearTimeout(timer);
          return fail('OCSP_HTTP', `response larger than ${MAX_RESPONSE_BYTES} bytes`);
        }
        parts.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(parts));
      });
      res.on('error', () => undefined); // the request's 'error' reports it
    });
    req.end(request);
  });
