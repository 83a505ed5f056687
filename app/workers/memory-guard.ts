import { logger } from '../../src/log.js';
import type { RoutingTable } from '../../src/routing/table.js';

const log = logger('worker');
/**
 * Rough cost of one frontend in the compact table: ~35-40 B when frontends
 * share backend lists, ~190 B when each has its own (docs/performance.md).
 */
const BYTES_PER_FRONTEND = 200;
/** A certificate in the table: its PEM text, and about this much besides (its entries, names, digest). */
const BYTES_PER_CERTIFICATE = 1024;

/**
 * Decides when a worker is over its memory limit. The limit exists to catch
 * leaks and growth; a table that by itself needs more than the limit (a very
 * large number of frontends) must not make every worker drain as soon as it
 * has loaded, in an endless replacement loop. For such a table (frontends,
 * and certificates: 100,000 RSA ones hold about 400 MiB of PEM) the limit
 * is raised to 1.5x the RSS measured once it was loaded, and the log says so.
 */
export class MemoryGuard {
  #limit: number;
  #baselineTaken = false;

  constructor(
    private readonly configuredMiB: number,
    private readonly table: RoutingTable,
  ) {
    this.#limit = configuredMiB * 1048576;
  }

  /** The RSS when it is over the limit, else null. */
  check(rss = process.memoryUsage.rss()): number | null {
    if (!this.table.loaded) return null; // a first snapshot being read is not growth
    if (!this.#baselineTaken) {
      this.#baselineTaken = true;
      let certificates = 0;
      let certificateBytes = 0;
      for (const { certificate } of this.table.certificates.all()) {
        certificates++;
        certificateBytes += certificate.pem.length + BYTES_PER_CERTIFICATE;
      }
      const tableBytes = this.table.stats().frontends * BYTES_PER_FRONTEND + certificateBytes;
      if (tableBytes > this.#limit / 2 && rss * 1.5 > this.#limit) {
        this.#limit = Math.ceil(rss * 1.5);
        log.warn('the routing table alone needs most of server.workerMemoryLimit; limit raised for this worker', {
          frontends: this.table.stats().frontends,
          certificates,
          rssMiB: Math.round(rss / 1048576),
          configuredMiB: this.configuredMiB,
          effectiveMiB: Math.round(this.#limit / 1048576),
        });
      }
    }
    return rss > this.#limit ? rss : null;
  }

  get limitMiB(): number {
    return Math.round(this.#limit / 1048576);
  }
}
