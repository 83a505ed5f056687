// Which front end served a request: the fast front end (src/proxy/front/) or
// node:http. The proxy counts, per worker, the requests the fast front end
// served itself and the connections it handed to node:http, and shows them
// in the admin API's /status (`front`); these helpers read them (one worker).
import assert from 'node:assert/strict';
import { request } from './http.js';
import { waitFor } from './wait.js';

/** The proxies these tests start inherit the environment: SWITCHYARD_FRONT=node turns the fast front end off. */
export const fastFrontOn = process.env.SWITCHYARD_FRONT !== 'node';

export interface FrontCounts {
  /** The fast front end is on. */
  fast: boolean;
  fastRequests: number;
  handoffs: number;
}

export async function frontCounts(adminPort: number): Promise<FrontCounts> {
  const res = await request({ port: adminPort, host: '127.0.0.1', path: '/status' });
  assert.equal(res.status, 200, res.text);
  return (JSON.parse(res.text) as { front: FrontCounts }).front;
}

/** Waits until the admin API (started right after the proxy's listeners) answers. */
export async function adminReady(adminPort: number): Promise<void> {
  await waitFor(async () => (await frontCounts(adminPort))?.fast !== undefined, { message: 'the admin API answering' });
}

/** What the front ends did since the meter was made (counts as differences). */
export type FrontMeter = () => Promise<FrontCounts>;

export async function frontMeter(adminPort: number): Promise<FrontMeter> {
  const start = await frontCounts(adminPort);
  return async () => {
    const now = await frontCounts(adminPort);
    return { fast: now.fast, fastRequests: now.fastRequests - start.fastRequests, handoffs: now.handoffs - start.handoffs };
  };
}

/** What the fast front end did since `meter` was made; asserts that it is on. */
export async function fastFrontDid(meter: FrontMeter): Promise<{ fastRequests: number; handoffs: number }> {
  const { fast, fastRequests, handoffs } = await meter();
  assert.equal(fast, true, `the fast front end is off (SWITCHYARD_FRONT=${process.env.SWITCHYARD_FRONT ?? ''})`);
  return { fastRequests, handoffs };
}

/**
 * Asserts that the fast front end is on and, since `meter` was made, served
 * exactly `fastRequests` requests itself and handed `handoffs` connections
 * to node:http.
 */
export async function assertFastFront(meter: FrontMeter, expected: { fastRequests: number; handoffs: number }): Promise<void> {
  assert.deepEqual(await fastFrontDid(meter), expected, 'requests the fast front end served, connections it handed to node:http');
}
