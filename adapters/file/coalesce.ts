// Turns a burst of triggers (an editor's write + rename + chmod, a git pull,
// a ConfigMap swap) into one run of `task`, latest wins: triggers arriving
// while the task runs cause exactly one more run afterwards, never a queue of
// stale runs. The window is fixed from the first trigger, not restarted by
// each one, so a directory that never stops changing still gets read.

export class Coalescer {
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #stopped = false;

  constructor(
    private readonly delayMs: number,
    private readonly task: () => Promise<void>,
  ) {}

  trigger(delayMs = this.delayMs): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => void this.#run(), delayMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    this.#running = true;
    try {
      await this.task();
    } finally {
      this.#running = false;
    }
    if (this.#again) {
      this.#again = false;
      this.trigger();
    }
  }
}
