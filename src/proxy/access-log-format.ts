// The two access log formats of server.accessLogFormat (SPEC §8): nginx
// "combined" followed by the request id, and one JSON object a line. Either
// way a field a client wrote is escaped, so no request can end a field early
// or forge a line.

import type { AccessLogFormat } from '../config/types.js';
import { upstreamMs, type RequestOutcome } from './outcome.js';

/** One line, newline included; `now` is performance.now() at the request's end. */
export type LineFormat = (o: RequestOutcome, now: number) => string;

export function lineFormat(format: AccessLogFormat): LineFormat {
  return format === 'json' ? jsonLine : combinedLine;
}

/**
 * `$remote_addr - - [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent" "$request_id"`; a WebSocket tunnel adds
 * `bytes_in=N bytes_out=N`.
 */
export function combinedLine(o: RequestOutcome): string {
  const req = o.req;
  let line =
    `${o.remoteAddress} - - [${localTime()}] "${escape(req.method ?? '-')} ${escape(req.url ?? '-')} HTTP/${escape(req.httpVersion)}" ${o.status} ${o.bytes} ` +
    `"${quote(headerValue(req.rawHeaders, 'referer'))}" "${quote(headerValue(req.rawHeaders, 'user-agent'))}" "${escape(o.requestId)}"`;
  if (o.bytesIn >= 0) line += ` bytes_in=${o.bytesIn} bytes_out=${o.bytesOut}`;
  return line + '\n';
}

/** What a client wrote is cut to this many characters, then fewer, until its line fits. */
const CUTS = [1024, 256, 64, 16];

/**
 * The line of `o` in at most `maxBytes` bytes, newline included: only so
 * short a write to a pipe lands whole, and standard output is one pipe for
 * every worker. What the client wrote (path, User-Agent, Referer, a Host
 * that could not be used) is cut first, marked by a trailing "...".
 */
export function fittedLine(format: LineFormat, o: RequestOutcome, now: number, maxBytes: number): string {
  let line = format(o, now);
  for (const cut of CUTS) {
    // Most lines are far shorter (a UTF-16 unit is at most 3 bytes of UTF-8): no byte count for them.
    if (line.length * 3 <= maxBytes || Buffer.byteLength(line) <= maxBytes) break;
    line = format(clientFieldsCut(o, cut), now);
  }
  return line;
}

function clientFieldsCut(o: RequestOutcome, max: number): RequestOutcome {
  const cut = <T extends string | null | undefined>(value: T): T => (value != null && value.length > max ? `${value.slice(0, max)}...` : value) as T;
  const rawHeaders = o.req.rawHeaders.map((field, i) => (i % 2 === 1 ? cut(field) : field));
  return { ...o, host: cut(o.host), req: { method: o.req.method, url: cut(o.req.url), httpVersion: o.req.httpVersion, rawHeaders } };
}

/** The fields of SPEC §8 in its order, null where unknown; a WebSocket tunnel adds bytes_in and bytes_out. */
export function jsonLine(o: RequestOutcome, now: number): string {
  const req = o.req;
  let line =
    `{"time":"${isoTime()}","client":${str(o.remoteAddress)},"method":${str(req.method)},"host":${str(o.host)},"path":${str(req.url)},` +
    `"protocol":${str(`HTTP/${req.httpVersion}`)},"status":${o.status},"bytes":${o.bytes},"duration_ms":${ms(now - o.started)},` +
    `"upstream_ms":${msOrNull(upstreamMs(o, now))},"backend":${str(o.backend)},"frontend":${str(o.frontend)},"request_id":${str(o.requestId)},` +
    `"retries":${o.retries},"error":${str(o.error)},"user_agent":${str(headerValue(req.rawHeaders, 'user-agent'))},` +
    `"referer":${str(headerValue(req.rawHeaders, 'referer'))}`;
  if (o.bytesIn >= 0) line += `,"bytes_in":${o.bytesIn},"bytes_out":${o.bytesOut}`;
  return line + '}\n';
}

/** A JSON string (JSON.stringify escapes quotes, backslashes, control characters and lone surrogates), or null. */
function str(value: string | null | undefined): string {
  return value == null ? 'null' : JSON.stringify(value);
}

/** Milliseconds to the microsecond. */
function ms(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

function msOrNull(value: number | null): string {
  return value === null ? 'null' : ms(value);
}

/** The first value of a header (`name` in lower case). */
export function headerValue(rawHeaders: string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let localSecond = -1;
let localStamp = '';
let isoMilli = -1;
let isoStamp = '';

/** `25/Nov/2026:10:00:00 +0000`, formatted once per second. */
function localTime(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== localSecond) {
    const d = new Date(now);
    const pad = (n: number) => String(n).padStart(2, '0');
    localStamp = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
    localSecond = second;
  }
  return localStamp;
}

/** `2026-11-25T10:00:00.123Z`, formatted once per millisecond. */
function isoTime(): string {
  const now = Date.now();
  if (now !== isoMilli) {
    isoStamp = new Date(now).toISOString();
    isoMilli = now;
  }
  return isoStamp;
}

function quote(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  return escape(value);
}

/**
 * As nginx escapes log fields: `"`, `\` and bytes outside printable ASCII
 * become \xHH, so no request can end a field early or forge a line.
 */
function escape(value: string): string {
  return UNSAFE.test(value) ? value.replace(UNSAFE_ALL, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`) : value;
}

const UNSAFE = /["\\\x00-\x1f\x7f-\uffff]/;
const UNSAFE_ALL = /["\\\x00-\x1f\x7f-\uffff]/g;
