// A TLS session ticket key as the master holds it and as Redis stores it
// (`ticket-key`): JSON {"key": base64 of 48 random bytes, "createdAt": epoch ms}.
// The key itself is a secret: it goes to the workers and to Redis, never to a
// log line or the admin API.

import { randomBytes } from 'node:crypto';

/** What node:tls takes as `ticketKeys`: 16 bytes of name, 16 of HMAC key, 16 of AES key. */
export const TICKET_KEY_BYTES = 48;

export interface TicketKey {
  /** Base64 of TICKET_KEY_BYTES bytes. */
  key: string;
  /** When it was made (epoch ms): it is replaced once older than the rotation period. */
  createdAt: number;
}

export function freshTicketKey(now = Date.now()): TicketKey {
  return { key: randomBytes(TICKET_KEY_BYTES).toString('base64'), createdAt: now };
}

/** The stored form read back; null when it is not one (then it is replaced). */
export function parseTicketKey(text: string): TicketKey | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { key, createdAt } = value as Partial<TicketKey>;
  if (typeof key !== 'string' || typeof createdAt !== 'number' || !Number.isFinite(createdAt)) return null;
  return Buffer.from(key, 'base64').length === TICKET_KEY_BYTES ? { key, createdAt } : null;
}
