// Watches the directories whose changes can change the configured path's
// contents. The file itself is not watched: editors that save by rename and
// Kubernetes' symlink swaps replace it, and a watch on the old inode would go
// silent. Watching the directory sees writes, renames, deletes and swaps.

import { watch, type FSWatcher } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../src/log.js';

interface Watched {
  dir: string;
  /** React only to events about this entry of `dir`. */
  only?: string;
}

export class DirectoryWatcher {
  /** By identity (real path + inode): a directory replaced under the same name is watched anew. */
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #warned = new Set<string>();
  #closed = false;

  constructor(
    private readonly path: string,
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  /**
   * (Re)establishes the watches. Called before every read, so a replaced or
   * re-created directory is watched before it is read: a change made after
   * the read started is always announced by an event.
   */
  async refresh(): Promise<void> {
    const wanted = new Map<string, Watched>();
    for (const watched of await this.#directories()) {
      const id = await identity(watched.dir);
      if (id !== null) wanted.set(`${id}\0${watched.only ?? ''}`, watched);
    }
    if (this.#closed) return;
    for (const [id, watcher] of this.#watchers) {
      if (!wanted.has(id)) this.#drop(id, watcher);
    }
    for (const [id, watched] of wanted) if (!this.#watchers.has(id)) this.#add(id, watched);
  }

  close(): void {
    this.#closed = true;
    for (const [id, watcher] of this.#watchers) this.#drop(id, watcher);
  }

  /**
   * The parent (sees a file or a symlinked directory being replaced), and the
   * directory itself when the path is one. For a file, every entry of the
   * parent matters (a Kubernetes swap renames `..data`, not the file); for a
   * directory, only the directory's own entry in its parent does.
   */
  async #directories(): Promise<Watched[]> {
    const parent = dirname(this.path);
    const isDir = await stat(this.path).then((s) => s.isDirectory(), () => false);
    return isDir ? [{ dir: parent, only: basename(this.path) }, { dir: this.path }] : [{ dir: parent }];
  }

  #add(id: string, { dir, only }: Watched): void {
    try {
      const watcher = watch(dir, (_event, name) => {
        if (only === undefined || name === null || name === only) this.onChange();
      });
      watcher.on('error', (err) => {
        this.log.debug('directory watch failed; the periodic re-check covers until it is re-established', { dir, error: err.message });
        this.#drop(id, watcher);
        this.onChange();
      });
      this.#watchers.set(id, watcher);
    } catch (err) {
      // E.g. ENOSPC (inotify watches exhausted): said once per directory, the periodic re-check still works.
      if (!this.#warned.has(dir)) this.log.warn('cannot watch directory; changes are seen by the periodic re-check only', { dir, error: (err as Error).message });
      this.#warned.add(dir);
    }
  }

  #drop(id: string, watcher: FSWatcher): void {
    watcher.close();
    if (this.#watchers.get(id) === watcher) this.#watchers.delete(id);
  }
}

async function identity(dir: string): Promise<string | null> {
  try {
    const real = await realpath(dir);
    const info = await stat(real);
    return `${real}\0${info.dev}:${info.ino}`;
  } catch {
    return null; // not there (yet): the periodic re-check will try again
  }
}
