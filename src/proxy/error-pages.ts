import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';

const STATUSES = [400, 404, 405, 408, 413, 431, 500, 502, 503, 504];

/**
 * Error bodies, read once at start-up: `staticDir/error_<status>.html` when
 * present, a built-in page otherwise. No file I/O happens per request.
 */
export class ErrorPages {
  readonly #pages = new Map<number, Buffer>();

  constructor(staticDir: string | null) {
    for (const status of STATUSES) {
      let page: Buffer | null = null;
      if (staticDir !== null) {
        try {
          page = readFileSync(join(staticDir, `error_${status}.html`));
        } catch {
          page = null;
        }
      }
      this.#pages.set(status, page ?? builtIn(status));
    }
  }

  body(status: number): Buffer {
    return this.#pages.get(status) ?? builtIn(status);
  }
}

function builtIn(status: number): Buffer {
  const reason = STATUS_CODES[status] ?? 'Error';
  return Buffer.from(
    `<!DOCTYPE html>\n<html><head><title>${status} ${reason}</title></head>` +
      `<body><h1>${status} ${reason}</h1><p>switchyard</p></body></html>\n`,
  );
}
