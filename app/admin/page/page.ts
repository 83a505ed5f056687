// GET / of the admin listener: the status page, one self-contained HTML
// document (inline style and script, no URL outside its own origin), built
// from the files beside this module: layout.html, style.css, and the
// scripts in SCRIPTS (one inline script, in that order).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

export interface StatusPage {
  html: string;
  /** Allows the page's own inline style and script by their hashes, and nothing from elsewhere. */
  contentSecurityPolicy: string;
}

/** The page's files: beside this module under tsx, in the source tree when it runs from dist/app/admin/page. */
function pageFiles(): URL {
  for (const dir of ['./', '../../../../app/admin/page/']) {
    const url = new URL(dir, import.meta.url);
    if (existsSync(new URL('layout.html', url))) return url;
  }
  throw new Error('app/admin/page/layout.html is missing from the installation');
}

/** Helpers first: the others use them. */
const SCRIPTS = ['dom.js', 'status.js', 'live.js'];

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function build(): StatusPage {
  const dir = pageFiles();
  const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
  const style = read('style.css');
  const script = SCRIPTS.map(read).join('\n');
  // A function as replacement: the texts hold `$` sequences that a replacement string would interpret.
  const html = read('layout.html')
    .replace('{{style}}', () => style)
    .replace('{{script}}', () => script);
  const contentSecurityPolicy = [
    "default-src 'self'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    // The empty icon (data:,) spares the browser a request for /favicon.ico.
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

let page: StatusPage | undefined;

/** Built once: the files do not change under a running master. */
export function statusPage(): StatusPage {
  page ??= build();
  return page;
}
