import { resolve } from 'node:path';
import { FrontendDigest } from '../../src/frontends/digest.js';
import { logger } from '../../src/log.js';
import type { ConfigEvent } from '../../src/vocabulary/events.js';
import type { ConfigSource, EventSink, SourceStatus } from '../../src/vocabulary/source.js';
import { certDirSignature, scanCertDir } from './certdir-scan.js';
import { HeldCertificates, type CertificateChanges } from './held-certificates.js';
import { errorReason } from './pem-files.js';
import { WatchLoop } from './watch-loop.js';

export interface CertDirSourceOptions {
  /** The directory (https.certDir). */
  path: string;
  /** The safety-net re-check for file systems that miss change events. Default 2000. */
  pollIntervalMs?: number;
  debounceMs?: number;
  /** The source's name in events and the table's precedence (default `certdir`; the ACME certificates' directory is `acme`). */
  name?: string;
}

export interface CertDirSourceStatus extends SourceStatus {
  path: string;
  /** Reads completed so far: shows the watch is alive. */
  checks: number;
  /** Certificates served. */
  certificates: number;
  /** Files of the directory that are not certificate files, with why ("notes.txt: no PEM block"). */
  skipped: string[];
}

/** A certDir emits no frontends: every snapshot carries this one version. */
const NO_FRONTENDS = FrontendDigest.of([]).version;

/**
 * A watched directory of certificate files (https.certDir, SPEC §7) as a
 * ConfigSource: a snapshot of its certificates at start, then each file
 * added, replaced or removed as a certificate-set or -removed event keyed by
 * the file's name. A bad file is kept out (quarantined, logged once) and the
 * last good certificate read from it stays served.
 */
export class CertDirSource implements ConfigSource {
  readonly name: string;
  readonly #log: ReturnType<typeof logger>;
  readonly #path: string;
  readonly #loop: WatchLoop;
  readonly #held: HeldCertificates;
  #signature: string | undefined;
  #seenHash: string | undefined;
  #skipped: string[] = [];
  #sink: EventSink = () => {};
  #loaded = false;
  #stopped = false;
  #lastError: SourceStatus['lastError'] = null;
  #lastSnapshotAt: number | null = null;
  #checks = 0;
  #firstSnapshot!: () => void;
  readonly #started = new Promise<void>((resolve) => (this.#firstSnapshot = resolve));

  constructor(options: CertDirSourceOptions) {
    this.name = options.name ?? 'certdir';
    this.#log = logger(this.name);
    this.#held = new HeldCertificates(this.#log);
    this.#path = resolve(options.path);
    this.#loop = new WatchLoop(this.#path, { pollMs: options.pollIntervalMs ?? 2000, debounceMs: options.debounceMs ?? 15 }, () => this.#reload(), this.#log);
  }

  /** Resolves once the first read was emitted as a snapshot: bad files quarantined, an unreadable directory as none. */
  start(sink: EventSink): Promise<void> {
    this.#sink = sink;
    this.#loop.start();
    return this.#started;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#loop.stop();
  }

  status(): CertDirSourceStatus {
    const state = this.#stopped ? 'stopped' : !this.#loaded ? 'starting' : this.#lastError === null ? 'ready' : 'degraded';
    return {
      name: this.name,
      state,
      mode: 'watch',
      lastError: this.#lastError,
      lastSnapshotAt: this.#lastSnapshotAt,
      version: this.#seenHash?.slice(0, 12),
      quarantinedCertificates: this.#held.quarantined,
      path: this.#path,
      checks: this.#checks,
      certificates: this.#held.served.length,
      skipped: [...this.#skipped],
    };
  }

  async #reload(): Promise<void> {
    try {
      // An announced change reads every file; the periodic re-check only compares stat signatures.
      const changed = await this.#loop.settle();
      const signature = await certDirSignature(this.#path);
      if (!changed && signature === this.#signature) return;
      const scan = await scanCertDir(this.#path, this.#seenHash);
      this.#signature = signature;
      if (this.#stopped || scan.hash === this.#seenHash) return;
      this.#seenHash = scan.hash;
      this.#skipped = [...scan.skipped].map(([name, why]) => `${name}: ${why}`);
      this.#apply(this.#held.update(scan.candidates));
    } catch (err) {
      this.#unreadable(err);
    } finally {
      this.#checks++;
    }
  }

  #apply(changes: CertificateChanges): void {
    if (!this.#loaded) this.#snapshot();
    else {
      for (const certificate of changes.set) this.#emit({ type: 'certificate-set', source: this.name, certificate });
      for (const key of changes.removed) this.#emit({ type: 'certificate-removed', source: this.name, key });
    }
    const quarantined = this.#held.quarantined;
    this.#log.info('certificate directory read', { path: this.#path, certificates: this.#held.served.length, changed: changes.set.length + changes.removed.length, quarantined: quarantined.length || undefined });
    if (quarantined.length > 0) this.#fail('CERTDIR_QUARANTINE', quarantined.map((q) => `${q.key}: ${q.reason}`).join('\n'));
    else this.#recover();
  }

  /** The directory cannot be listed (removed, unmounted): what was served stays, as for a vhosts file. */
  #unreadable(err: unknown): void {
    const message = `cannot read ${this.#path}: ${errorReason(err)} (the certificates read before stay served)`;
    if (this.#lastError?.message !== message) this.#log.error('certificate directory unreadable; the certificates read before stay served', { path: this.#path, error: errorReason(err) });
    this.#signature = undefined;
    this.#seenHash = undefined;
    if (!this.#loaded) this.#snapshot();
    this.#fail('CERTDIR_UNREADABLE', message);
  }

  #snapshot(): void {
    this.#loaded = true;
    this.#lastSnapshotAt = Date.now();
    this.#emit({ type: 'snapshot', source: this.name, version: NO_FRONTENDS, frontends: [], dead: [], certificates: this.#held.served, certificatesOnly: true });
    this.#firstSnapshot();
  }

  #fail(code: string, message: string): void {
    if (this.#lastError?.code === code && this.#lastError.message === message) return;
    this.#lastError = { code, message };
    this.#emit({ type: 'source-error', source: this.name, error: this.#lastError });
  }

  #recover(): void {
    if (this.#lastError === null) return;
    this.#lastError = null;
    this.#emit({ type: 'source-recovered', source: this.name });
  }

  #emit(event: ConfigEvent): void {
    if (!this.#stopped) this.#sink(event);
  }
}

CertDirSource satisfies new (options: CertDirSourceOptions) => ConfigSource;
