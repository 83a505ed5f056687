import { resolve } from 'node:path';
import { assertNever, type ConfigEvent, type FrontendSpec } from '../../src/vocabulary/events.js';
import type { FileSourceConfig } from '../../src/config/types.js';
import { FrontendDigest } from '../../src/frontends/digest.js';
import { hostOfKey } from '../../src/frontends/path.js';
import { logger } from '../../src/log.js';
import type { ConfigSource, EventSink, QuarantinedFrontend, SourceStatus } from '../../src/vocabulary/source.js';
import { problemFields, type FileProblem } from './problems.js';
import { readVhosts } from './read.js';
import { buildVersion, describeProblems, type Version } from './version.js';
import type { CertificateChanges } from './held-certificates.js';
import { VhostCertificates } from './vhost-certificates.js';
import type { TlsReferences } from './vhost-tls.js';
import { WatchLoop } from './watch-loop.js';

/** `pollIntervalMs`: the safety-net re-read for file systems that miss change events (NFS, some bind mounts). */
export interface FileSourceOptions extends FileSourceConfig {
  /** How long a burst of change events is collected before one re-read. Default 15. */
  debounceMs?: number;
}

export interface FileSourceStatus extends SourceStatus {
  /** The file or directory watched (absolute). */
  path: string;
  /** Reads completed so far (changes, re-checks and no-ops alike): shows the watch is alive. */
  checks: number;
  /** The first 12 hex digits of the SHA-256 of the files served (names and contents). */
  contentHash: string | undefined;
}

const DEFAULT_POLL_MS = 2000;
const DEFAULT_DEBOUNCE_MS = 15;

/**
 * A vhosts file, or a directory of them, as a ConfigSource. Each version read
 * is validated before anything of it applies; an invalid version changes
 * nothing (the last valid one stays in force), an invalid host entry changes
 * nothing for that host (it is quarantined) while the other hosts apply. The
 * first version is emitted as a snapshot, later ones as the frontends that
 * changed, so untouched hosts are never re-set. A host's `tls` certificate
 * is a certificate event of its own, re-read when its files change; a bad
 * one is quarantined like a bad host (its last good certificate stays).
 */
export class FileSource implements ConfigSource {
  readonly name = 'file';
  readonly #log = logger('file');
  readonly #path: string;
  readonly #loop: WatchLoop;
  readonly #certificates: VhostCertificates;
  /** The last valid definition of every host served. */
  #applied = new Map<string, FrontendSpec>();
  /** The digest of #applied: the version events carry. */
  #digest = new FrontendDigest();
  #quarantined: QuarantinedFrontend[] = [];
  /** Hash of the last version handled, valid or not: an unchanged save, or a re-check, is a no-op. */
  #seenHash: string | undefined;
  #servedHash: string | undefined;
  #sink: EventSink = () => {};
  #loaded = false;
  #stopped = false;
  #lastError: SourceStatus['lastError'] = null;
  #lastSnapshotAt: number | null = null;
  #checks = 0;
  #firstSnapshot!: () => void;
  readonly #started = new Promise<void>((resolve) => (this.#firstSnapshot = resolve));

  constructor(options: FileSourceOptions) {
    this.#path = resolve(options.path);
    const timing = { pollMs: options.pollIntervalMs ?? DEFAULT_POLL_MS, debounceMs: options.debounceMs ?? DEFAULT_DEBOUNCE_MS };
    this.#loop = new WatchLoop(this.#path, timing, () => this.#reload(), this.#log);
    this.#certificates = new VhostCertificates(() => this.#loop.announce(), this.#log);
  }

  /** Resolves once a first valid version was emitted; until then the source reports why not and keeps watching. */
  start(sink: EventSink): Promise<void> {
    this.#sink = sink;
    this.#loop.start();
    return this.#started;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#loop.stop();
    this.#certificates.close();
  }

  status(): FileSourceStatus {
    const state = this.#stopped ? 'stopped' : !this.#loaded ? 'starting' : this.#lastError === null ? 'ready' : 'degraded';
    return {
      name: this.name,
      state,
      mode: 'watch',
      lastError: this.#lastError,
      lastSnapshotAt: this.#lastSnapshotAt,
      version: this.#loaded ? this.#digest.version : undefined,
      contentHash: this.#servedHash?.slice(0, 12),
      quarantined: [...this.#quarantined],
      quarantinedCertificates: this.#certificates.quarantined,
      path: this.#path,
      checks: this.#checks,
    };
  }

  async #reload(): Promise<void> {
    try {
      // An announced change re-reads the certificate files; the periodic re-check compares stat signatures.
      const announced = await this.#loop.settle();
      const read = await readVhosts(this.#path, this.#seenHash);
      if (this.#stopped) return;
      if (read.hash === this.#seenHash) {
        // The vhosts are as they were: their certificate files may not be (a renewal).
        if (this.#loaded) await this.#recheckCertificates(announced);
        return;
      }
      this.#seenHash = read.hash;
      if (read.kind === 'failed') this.#reject([read.problem]);
      else await this.#handle(buildVersion(read.files), read.hash);
    } catch (err) {
      this.#log.error('reading the vhosts failed unexpectedly; the last version stays in force', { path: this.#path, error: (err as Error).message });
    } finally {
      this.#checks++;
    }
  }

  async #handle(version: Version, hash: string): Promise<void> {
    switch (version.kind) {
      case 'incomplete':
        // warn, not info: until the file has content, no change to any of the files applies.
        this.#log.warn('a vhosts file is empty, taken as being written; the last version stays in force', { file: version.file });
        return;
      case 'rejected':
        return this.#reject(version.problems);
      case 'complete':
        return this.#apply(version.frontends, version.invalid, version.tls, hash);
      default:
        assertNever(version);
    }
  }

  /** NACK: nothing of this version applies. */
  #reject(problems: FileProblem[]): void {
    for (const p of problems) this.#log.error('vhosts version rejected; the last valid version stays in force', problemFields(p));
    this.#fail(problems[0]?.code ?? 'FILE_SCHEMA', describeProblems(problems));
  }

  async #apply(frontends: Map<string, FrontendSpec>, invalid: Map<string, FileProblem[]>, tls: TlsReferences, hash: string): Promise<void> {
    const certificates = await this.#certificates.follow(tls, new Set(invalid.keys()));
    if (this.#stopped) return;
    const next = new Map(frontends);
    const quarantined: QuarantinedFrontend[] = [];
    for (const [key, problems] of invalid) {
      const previous = previousOf(this.#applied, key);
      for (const kept of previous) next.set(kept.key, kept);
      quarantined.push({ key, reason: describeProblems(problems), serving: previous.length === 0 ? 'none' : 'previous' });
      const what = previous.length === 0 ? 'vhost rejected; it is not served' : 'vhost quarantined; its previous version stays in force';
      for (const p of problems) this.#log.warn(what, problemFields(p));
    }
    const first = !this.#loaded;
    const changed = this.#emitChanges(next);
    if (!first) this.#emitCertificates(certificates);
    this.#applied = next;
    this.#quarantined = quarantined;
    this.#servedHash = hash;
    this.#log.info('vhosts applied', {
      path: this.#path,
      version: this.#digest.version,
      contentHash: hash.slice(0, 12),
      hosts: next.size,
      changed,
      certificates: this.#certificates.served.length || undefined,
      quarantined: quarantined.length || undefined,
    });
    this.#settle();
  }

  /** The version in force, its certificate files read again (a renewal): only what changed is emitted. */
  async #recheckCertificates(announced: boolean): Promise<void> {
    const changes = await this.#certificates.recheck(announced);
    if (changes === null || this.#stopped) return;
    this.#emitCertificates(changes);
    this.#log.info('vhost certificates read again', { path: this.#path, certificates: this.#certificates.served.length, changed: changes.set.length + changes.removed.length });
    this.#settle();
  }

  #emitCertificates({ set, removed }: CertificateChanges): void {
    for (const certificate of set) this.#emit({ type: 'certificate-set', source: this.name, certificate });
    for (const key of removed) this.#emit({ type: 'certificate-removed', source: this.name, key });
  }

  /** Degraded while a host or a certificate is quarantined. */
  #settle(): void {
    const reasons = [...this.#quarantined.map((q) => q.reason), ...this.#certificates.quarantined.map((q) => `${q.key}: certificate: ${q.reason}`)];
    if (reasons.length > 0) this.#fail('FILE_QUARANTINE', reasons.join('\n'));
    else this.#recover();
  }

  /** The first version as a snapshot; then only the hosts that differ. Returns how many changed. */
  #emitChanges(next: Map<string, FrontendSpec>): number {
    if (!this.#loaded) {
      this.#loaded = true;
      this.#lastSnapshotAt = Date.now();
      this.#digest = FrontendDigest.of(next.values());
      const certificates = this.#certificates.served;
      this.#emit({ type: 'snapshot', source: this.name, version: this.#digest.version, frontends: [...next.values()], dead: [], certificates });
      this.#firstSnapshot();
      return next.size;
    }
    let changed = 0;
    for (const [key, spec] of next) {
      const before = this.#applied.get(key);
      if (before !== undefined && JSON.stringify(before) === JSON.stringify(spec)) continue;
      if (before !== undefined) this.#digest.toggle(before);
      this.#digest.toggle(spec);
      this.#emit({ type: 'frontend-set', source: this.name, version: this.#digest.version, frontend: spec });
      changed++;
    }
    for (const key of this.#applied.keys()) {
      if (next.has(key)) continue;
      this.#digest.toggle(this.#applied.get(key)!);
      this.#emit({ type: 'frontend-removed', source: this.name, version: this.#digest.version, key });
      changed++;
    }
    return changed;
  }

  #fail(code: string, message: string): void {
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

/** The frontends a host had in the version in force: its own and its path frontends (a quarantined host keeps them all). */
function previousOf(applied: ReadonlyMap<string, FrontendSpec>, host: string): FrontendSpec[] {
  const own = applied.get(host);
  const kept = own === undefined ? [] : [own];
  for (const [key, spec] of applied) if (key !== host && hostOfKey(key) === host) kept.push(spec);
  return kept;
}

FileSource satisfies new (options: FileSourceOptions) => ConfigSource;
