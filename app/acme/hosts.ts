// Which hosts ACME may order a certificate for, asked of a worker's table by
// the orderer (in the master, which holds no table). Only what the table has
// is ever ordered for: a stranger sending SNI or Host for any name cannot
// make the proxy order certificates for it (SPEC §7).

import { isIP } from 'node:net';
import { hostOfKey } from '../../src/frontends/path.js';
import type { RoutingTable } from '../../src/routing/table.js';

/** What a worker answers: configured hosts with no certificate, and which of the hosts the orderer issued before are still configured. */
export interface AcmeHosts {
  missing: string[];
  configured: string[];
}

/** A DNS name of two labels or more: no pattern (`*.x`, `*`), no IP literal, nothing a CA would refuse out of hand. */
const NAME = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

export function isOrderableName(host: string): boolean {
  return host.length <= 253 && isIP(host) === 0 && NAME.test(host);
}

/** A host counts as configured with its own frontend or path frontends only ("www.x/api" configures "www.x"). */
export function acmeHosts(table: RoutingTable, issued: readonly string[]): AcmeHosts {
  const hosts = new Set<string>();
  for (const route of table.routes()) hosts.add(hostOfKey(route.key));
  const missing = [...hosts].filter((host) => isOrderableName(host) && table.certificates.select(host) === null);
  const configured = issued.filter((host) => hosts.has(host));
  return { missing, configured };
}
