// X-Request-Id (SPEC §8): a trusted peer's is kept, anyone else gets one of
// the proxy's own. An id is 32 hex digits, nginx's $request_id shape: 25
// digits of random bits drawn once per process, then a 7-digit counter, so
// making one costs a number-to-string and a concatenation, never a crypto
// call, and ids from different workers and instances do not collide.

import { randomBytes } from 'node:crypto';

/** The longest id kept from a peer; a longer one is replaced. */
export const MAX_REQUEST_ID_LENGTH = 200;

/**
 * The counter runs over 7-digit hex numbers only, so no id needs padding,
 * and stays a small integer, whose hex string V8 makes fastest.
 */
const COUNTER_FIRST = 0x1000000;
const COUNTER_END = 0x10000000;

let prefix = '';
let counter = COUNTER_END;

/** A new id: unique to this process's random prefix and its counter. */
export function nextRequestId(): string {
  // At the first id, and then once in 250 million: fresh random bits, the counter from the start.
  if (counter === COUNTER_END) {
    prefix = randomBytes(13).toString('hex').slice(0, 25);
    counter = COUNTER_FIRST;
  }
  return prefix + (counter++).toString(16);
}

/** Visible ASCII (no space, no control byte, nothing beyond 0x7e), 1 to MAX_REQUEST_ID_LENGTH characters. */
export function isValidRequestId(value: string): boolean {
  if (value.length === 0 || value.length > MAX_REQUEST_ID_LENGTH) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * The request's id: `sent` (the X-Request-Id field, '' when the field was
 * repeated) when its peer is trusted and it is valid, else a new one. An
 * untrusted client's id is never passed on: it could collide with, or
 * impersonate, another request's in the logs of every service behind.
 */
export function requestIdFor(sent: string | undefined, trusted: boolean): string {
  return trusted && sent !== undefined && isValidRequestId(sent) ? sent : nextRequestId();
}
