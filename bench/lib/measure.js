// One measurement = one bounded load run, with around it: the peak RSS of the
// measured process tree, its CPU, and the foreign CPU (other processes + VM
// steal). A run whose foreign CPU exceeds --foreign-max is disturbed: it is
// retried (at most --retries times per measurement, --retry-budget times per
// benchmark) and, when it stays disturbed, recorded with `disturbed: true` so
// the summary can leave it out of the medians and flag it.

import { foreignWindow, treeTicks, CLK_TCK } from './proc-stats.js';
import { RssSampler } from './sampler.js';
import { sleep } from './procs.js';

/**
 * @param ctx     benchmark context (opts.foreignMax, opts.retries, retryBudget, log)
 * @param label   for log lines
 * @param rootPid the measured process (its whole tree), or null (nothing to sample)
 * @param load    async () => load result with `requests` (or `messages`)
 * @returns load result + { rss_peak_kb, rss_root_kb, rss_worker_kb, cpu_cores, cpu_us_per_req, foreign_cores, attempts, disturbed }
 */
export async function measure(ctx, label, rootPid, load) {
  for (let attempt = 1; ; attempt++) {
    const roots = rootPid ? [rootPid] : [];
    const sampler = new RssSampler(roots);
    const ticks0 = rootPid ? treeTicks(roots) : 0;
    const window = foreignWindow();
    const t0 = performance.now();
    let result;
    try {
      result = await load();
    } finally {
      sampler.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    const foreign = window.stop();
    const ticks = rootPid ? treeTicks(roots) - ticks0 : NaN;
    const cpuSeconds = ticks / CLK_TCK;
    const count = result.requests ?? result.messages ?? 0;
    const split = rootPid ? sampler.split(rootPid) : { rootKb: NaN, maxChildKb: NaN };
    const rec = {
      ...result,
      rss_peak_kb: rootPid ? sampler.peakTreeKb : NaN,
      rss_root_kb: split.rootKb,
      rss_worker_kb: split.maxChildKb,
      cpu_cores: cpuSeconds / seconds,
      cpu_us_per_req: count ? (cpuSeconds * 1e6) / count : NaN,
      foreign_cores: round(foreign.cores),
      steal_cores: round(foreign.stealCores),
      foreign_top: foreign.top,
      attempts: attempt,
      disturbed: foreign.cores > ctx.opts.foreignMax,
    };
    if (!rec.disturbed) return rec;
    const why = `foreign CPU ${foreign.cores.toFixed(2)} cores > ${ctx.opts.foreignMax} (steal ${foreign.stealCores.toFixed(2)}; top: ${foreign.top.join(', ')})`;
    if (attempt > ctx.opts.retries || ctx.retryBudget <= 0) {
      ctx.log(`    ${label}: ${why}: kept, flagged as disturbed`);
      return rec;
    }
    ctx.retryBudget--;
    ctx.log(`    ${label}: ${why}: retrying (${ctx.retryBudget} retries left in the budget)`);
    await sleep(2000);
  }
}

const round = (x) => Math.round(x * 1000) / 1000;
