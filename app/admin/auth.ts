// The admin token. Scripts send it as a bearer token; a browser cannot set
// that header on a page load or an EventSource, so HTTP Basic with the token
// as the password (any user name) is the same credential.

import { createHash, timingSafeEqual } from 'node:crypto';

export const REALM = 'switchyard admin';

/** Digests have one length whatever was sent: timingSafeEqual then tells nothing about the token's length or prefix. */
function sameSecret(given: string, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** The secret an Authorization header carries: a bearer token, or a Basic password. */
function presented(authorization: string | undefined): string | null {
  const match = /^(Bearer|Basic) +(\S+)$/i.exec(authorization?.trim() ?? '');
  if (match === null) return null;
  if (match[1]!.toLowerCase() === 'bearer') return match[2]!;
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

/** Whether a request may be answered: always without a token, else only with it. */
export function authorized(token: string | null, authorization: string | undefined): boolean {
  if (token === null) return true;
  const secret = presented(authorization);
  return secret !== null && sameSecret(secret, token);
}
