// What /proc says about processes: trees, RSS, CPU ticks, and the "foreign" CPU
// (processes this benchmark did not start, plus VM steal) that marks a run as
// disturbed. Same accounting as the shared harness (lib.sh: foreign_ticks):
// per-process utime+stime deltas of every process outside our own tree.

import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** One /proc/<pid>/stat line -> { pid, ppid, ticks } (utime+stime of all threads), or null. */
function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited meanwhile
  }
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

/** Every process on the machine: Map pid -> { pid, ppid, ticks }. */
export function snapshot() {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const s = readStat(Number(name));
    if (s) procs.set(s.pid, s);
  }
  return procs;
}

/** PIDs of `roots` and all their descendants, from a snapshot. */
export function treeOf(procs, roots) {
  const children = new Map();
  for (const p of procs.values()) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p.pid);
  }
  const out = new Set();
  const stack = roots.filter((r) => procs.has(r));
  while (stack.length) {
    const pid = stack.pop();
    if (out.has(pid)) continue;
    out.add(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/**
 * PIDs of the trees rooted at `roots`, through /proc/<pid>/task/<tid>/children
 * (cheap: no scan of every process); falls back to a full snapshot.
 */
export function treePids(roots) {
  const out = new Set();
  const stack = [...roots];
  try {
    while (stack.length) {
      const pid = stack.pop();
      if (out.has(pid)) continue;
      let tasks;
      try {
        tasks = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue; // gone
      }
      out.add(pid);
      for (const tid of tasks) {
        const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(' ')) stack.push(Number(k));
      }
    }
    return out;
  } catch {
    return treeOf(snapshot(), roots);
  }
}

/** Summed CPU ticks of the tree(s) rooted at `roots`. */
export function treeTicks(roots) {
  let t = 0;
  for (const pid of treePids(roots)) t += readStat(pid)?.ticks ?? 0;
  return t;
}

export function stealTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  return Number(line.trim().split(/\s+/)[8] ?? 0);
}

/** VmRSS in kB of one process (0 when gone). */
export function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function commOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/**
 * Starts a foreign-CPU window. `stop()` returns the cores used during the
 * window by processes outside this benchmark's own process tree (everything it
 * started descends from it), plus steal, and the biggest foreign users.
 */
export function foreignWindow() {
  const before = snapshot();
  const steal0 = stealTicks();
  const t0 = process.hrtime.bigint();
  return {
    stop() {
      const after = snapshot();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const mine = treeOf(after, [process.pid]);
      for (const pid of treeOf(before, [process.pid])) mine.add(pid);
      const users = [];
      let ticks = stealTicks() - steal0;
      const stealCores = ticks / CLK_TCK / seconds;
      for (const p of after.values()) {
        if (mine.has(p.pid)) continue;
        const d = p.ticks - (before.get(p.pid)?.ticks ?? 0);
        if (d > 0) {
          ticks += d;
          users.push([p.pid, d]);
        }
      }
      users.sort((a, b) => b[1] - a[1]);
      const top = users.slice(0, 3).map(([pid, d]) => `${commOf(pid)}(${pid}) ${(d / CLK_TCK / seconds).toFixed(2)}`);
      return { cores: ticks / CLK_TCK / seconds, stealCores, seconds, top };
    },
  };
}
