// Peak RSS of a process tree (sum over the tree, as the shared harness does)
// and of each process in it, sampled every `intervalMs` while a load runs.

import { treePids, rssKb } from './proc-stats.js';

export class RssSampler {
  #timer;
  #roots;
  peakTreeKb = 0;
  /** pid -> peak kB */
  peakByPid = new Map();

  constructor(roots, intervalMs = 500) {
    this.#roots = roots;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample() {
    let sum = 0;
    for (const pid of treePids(this.#roots)) {
      const kb = rssKb(pid);
      sum += kb;
      if (kb > (this.peakByPid.get(pid) ?? 0)) this.peakByPid.set(pid, kb);
    }
    if (sum > this.peakTreeKb) this.peakTreeKb = sum;
  }

  stop() {
    clearInterval(this.#timer);
    this.sample();
    return this;
  }

  /** Peak of the largest non-root process (a worker), and of the root (master). */
  split(rootPid) {
    let worker = 0;
    for (const [pid, kb] of this.peakByPid) if (pid !== rootPid && kb > worker) worker = kb;
    return { rootKb: this.peakByPid.get(rootPid) ?? 0, maxChildKb: worker };
  }
}

/** Current tree RSS in kB. */
export function treeRssKb(roots) {
  let sum = 0;
  for (const pid of treePids(roots)) sum += rssKb(pid);
  return sum;
}
