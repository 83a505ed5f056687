// Debian's Chromium, headless, driven by playwright-core (which downloads no
// browser of its own). `npm test` (scripts/test.sh) installs the chromium
// package when it is missing, as it does redis-server.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { onCleanup } from './cleanup.js';
import { repoRoot } from './switchyard.js';

export const chromiumPath = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';

/** Why a browser test cannot run here, or null when it can. In CI it must run: there the answer is an error. */
export function chromiumMissing(): string | null {
  if (existsSync(chromiumPath)) return null;
  const why = `${chromiumPath} not found: install Debian's chromium package (npm test does it with apt-get) or set SWITCHYARD_CHROMIUM`;
  if (process.env.CI) throw new Error(why);
  return why;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // As root (CI, containers) Chromium refuses to start with its sandbox.
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args });
  onCleanup(() => browser.close());
  return browser;
}

/** test-artifacts/<name> at the repository root (git-ignored), its directory made. */
export function artifactPath(name: string): string {
  const dir = path.join(repoRoot, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
