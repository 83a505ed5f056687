// Backends for the active health check tests: every path answers 200 with
// its name (so only a health check, never passive health, can take it out),
// except the health path, whose status the test sets.
import type { CleanupScope } from './cleanup.js';
import { startHttpBackend, type Backend, type RecordedRequest } from './backends.js';

export const HEALTH_PATH = '/health';

export interface CheckedBackend extends Backend {
  /** Status of the next answers to GET /health; a Location header comes with a 3xx. */
  health: number;
  location: string | null;
  /** Health checks received so far. */
  checks(): RecordedRequest[];
  /** Requests other than health checks received so far. */
  traffic(): RecordedRequest[];
}

export async function startCheckedBackend(name: string, scope?: CleanupScope): Promise<CheckedBackend> {
  let checked: CheckedBackend | null = null;
  const backend = await startHttpBackend({
    name,
    scope,
    handler: (req, res) => {
      const isCheck = req.url === HEALTH_PATH;
      const headers: Record<string, string> = { 'x-backend-name': name, 'content-type': 'text/plain' };
      if (isCheck && checked?.location != null) headers.location = checked.location;
      res.writeHead(isCheck ? (checked?.health ?? 200) : 200, headers);
      res.end(name);
    },
  });
  const isCheck = (r: RecordedRequest) => r.url === HEALTH_PATH;
  checked = Object.assign(backend, {
    health: 200,
    location: null as string | null,
    checks: () => backend.requests.filter(isCheck),
    traffic: () => backend.requests.filter((r) => !isCheck(r)),
  });
  return checked;
}
