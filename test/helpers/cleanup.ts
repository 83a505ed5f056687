// Everything a helper starts is registered here and torn down after the test
// file, even when a test fails. Why a registry instead of calling node:test's
// after() inside each helper: after() binds to the *current* context, and when
// called from a before() hook it fires as soon as that hook returns, killing
// the servers the hook just started. This module's after() is registered at
// import time, i.e. on the file's root, so it runs once all tests are done.
import { after } from 'node:test';

export type Cleanup = () => unknown;

/** Something with node:test's `t.after` (a TestContext), to scope a resource to one test. */
export interface CleanupScope {
  after(fn: () => unknown): void;
}

const pending: Cleanup[] = [];

/** Children to SIGKILL synchronously if the process exits before cleanup ran. */
const processGroups = new Set<number>();

after(runCleanups);

function killProcessGroups(): void {
  for (const pgid of processGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.on('exit', killProcessGroups);

// A test file killed by a signal (runner timeout, Ctrl-C) does not emit
// 'exit': without these, its redis-servers and proxies would be orphaned.
for (const [signal, number] of [['SIGTERM', 15], ['SIGINT', 2], ['SIGHUP', 1]] as const) {
  process.once(signal, () => {
    killProcessGroups();
    process.exit(128 + number);
  });
}

/**
 * Registers `fn` to run at the end of the test file (or at the end of the
 * test when `scope` is a TestContext). It runs at most once; the returned
 * function runs it now (and unregisters it).
 */
export function onCleanup(fn: Cleanup, scope?: CleanupScope): () => Promise<void> {
  let done: Promise<void> | undefined;
  const once = (): Promise<void> => {
    done ??= Promise.resolve().then(fn).then(
      () => undefined,
      (err: unknown) => {
        process.stderr.write(`cleanup failed: ${String(err)}\n`);
      },
    );
    return done;
  };
  pending.push(once);
  if (scope !== undefined) scoped(scope).push(once);
  return once;
}

/** Per-test cleanups, run newest first (t.after alone would run them oldest first). */
const byScope = new WeakMap<CleanupScope, Cleanup[]>();

function scoped(scope: CleanupScope): Cleanup[] {
  let list = byScope.get(scope);
  if (list === undefined) {
    const fresh: Cleanup[] = [];
    list = fresh;
    byScope.set(scope, fresh);
    scope.after(async () => {
      for (const fn of fresh.reverse()) await fn();
    });
  }
  return list;
}

/** Process groups (detached children) killed with SIGKILL on process exit. */
export function trackProcessGroup(pgid: number): () => void {
  processGroups.add(pgid);
  return () => processGroups.delete(pgid);
}

/** Runs every pending cleanup, newest first (a proxy stops before its Redis). */
export async function runCleanups(): Promise<void> {
  while (pending.length > 0) {
    const fn = pending.pop();
    if (fn) await fn();
  }
}
