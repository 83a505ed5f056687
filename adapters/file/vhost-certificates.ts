// The certificates of a vhosts tree (`tls:` on its hosts): what the version
// in force names, read when a version applies and again when a directory
// holding one of the files announces a change (or, failing that, when the
// periodic re-check sees one replaced), checked and held as the last good.

import { dirname } from 'node:path';
import type { Logger } from '../../src/log.js';
import type { CertificateSpec } from '../../src/vocabulary/events.js';
import type { QuarantinedCertificate } from '../../src/vocabulary/source.js';
import { HeldCertificates, type CertificateChanges } from './held-certificates.js';
import { filesOf, readVhostCertificates, tlsSignature, type TlsReferences } from './vhost-tls.js';
import { DirectoryWatcher } from './watch.js';

export class VhostCertificates {
  readonly #held: HeldCertificates;
  readonly #watchers: TlsFileWatchers;
  #refs: TlsReferences = new Map();
  /** Hosts whose entry is quarantined: their last good certificate stays with their last good definition. */
  #keep: ReadonlySet<string> = new Set();
  #hash: string | undefined;
  #signature: string | undefined;

  constructor(onChange: () => void, log: Logger) {
    this.#held = new HeldCertificates(log);
    this.#watchers = new TlsFileWatchers(onChange, log);
  }

  get served(): CertificateSpec[] {
    return this.#held.served;
  }

  get quarantined(): QuarantinedCertificate[] {
    return this.#held.quarantined;
  }

  /** A new version of the vhosts applies: its references replace the previous ones, and are read. */
  async follow(refs: TlsReferences, keep: ReadonlySet<string>): Promise<CertificateChanges> {
    this.#refs = refs;
    this.#keep = keep;
    await this.#watchers.refresh(refs);
    this.#signature = await tlsSignature(refs);
    const { candidates, hash } = await readVhostCertificates(refs);
    this.#hash = hash;
    return this.#held.update(candidates, keep);
  }

  /**
   * The same version, read again: after a watch event (`announced`) every
   * file is read; on the periodic re-check, only when stat says one was
   * replaced or rewritten. Null when nothing changed.
   */
  async recheck(announced: boolean): Promise<CertificateChanges | null> {
    await this.#watchers.refresh(this.#refs);
    const signature = await tlsSignature(this.#refs);
    if (!announced && signature === this.#signature) return null;
    this.#signature = signature;
    const { candidates, hash } = await readVhostCertificates(this.#refs);
    if (hash === this.#hash) return null;
    this.#hash = hash;
    return this.#held.update(candidates, this.#keep);
  }

  close(): void {
    this.#watchers.close();
  }
}

/** One watch per directory holding a certificate file, following the references in force. */
class TlsFileWatchers {
  readonly #watchers = new Map<string, DirectoryWatcher>();

  constructor(
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  /** Watches the directories of `refs`' files (and no others), before they are read. */
  async refresh(refs: TlsReferences): Promise<void> {
    const wanted = new Map(filesOf(refs).map((file) => [dirname(file), file]));
    for (const [dir, watcher] of this.#watchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      this.#watchers.delete(dir);
    }
    for (const [dir, file] of wanted) {
      if (!this.#watchers.has(dir)) this.#watchers.set(dir, new DirectoryWatcher(file, this.onChange, this.log));
    }
    await Promise.all([...this.#watchers.values()].map((w) => w.refresh()));
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
}
