import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onCleanup, type CleanupScope } from './cleanup.js';

/** A fresh temporary directory, removed at cleanup unless KEEP_TEST_TMP is set. */
export function tempDir(prefix = 'test', scope?: CleanupScope): string {
  const dir = mkdtempSync(path.join(tmpdir(), `switchyard-${prefix}-`));
  if (!process.env.KEEP_TEST_TMP) {
    onCleanup(() => rmSync(dir, { recursive: true, force: true }), scope);
  }
  return dir;
}
