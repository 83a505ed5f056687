import type { Logger } from '../../src/log.js';
import { Coalescer } from './coalesce.js';
import { DirectoryWatcher } from './watch.js';

export interface WatchLoopOptions {
  /** The periodic re-check, for changes a watch misses (ms). */
  pollMs: number;
  /** How long a burst of changes is gathered into one read (ms). */
  debounceMs: number;
}

/**
 * How a file source notices changes: the directory's watch, whatever else
 * announces a change (certificate files a vhosts file names), and a
 * periodic re-check, gathered into one run of `read` at a time. `read`
 * starts with `settle()`, which says whether a change was announced since
 * the last read: a re-check with none may compare cheap signatures instead
 * of reading everything.
 */
export class WatchLoop {
  readonly #coalescer: Coalescer;
  readonly #watcher: DirectoryWatcher;
  #announced = true;
  #poll: NodeJS.Timeout | undefined;

  constructor(
    path: string,
    private readonly options: WatchLoopOptions,
    read: () => Promise<void>,
    log: Logger,
  ) {
    this.#coalescer = new Coalescer(options.debounceMs, read);
    this.#watcher = new DirectoryWatcher(path, () => this.announce(), log);
  }

  /** Reads at once, then on every change and every pollMs. */
  start(): void {
    this.#poll = setInterval(() => this.#coalescer.trigger(), this.options.pollMs).unref();
    this.#coalescer.trigger(0);
  }

  stop(): void {
    clearInterval(this.#poll);
    this.#coalescer.stop();
    this.#watcher.close();
  }

  /** Re-watches what the directory now holds (a symlink swapped, say); true when a change was announced since the last call. */
  async settle(): Promise<boolean> {
    await this.#watcher.refresh();
    const announced = this.#announced;
    this.#announced = false;
    return announced;
  }

  /** Something changed: read soon, everything. */
  announce(): void {
    this.#announced = true;
    this.#coalescer.trigger();
  }
}
