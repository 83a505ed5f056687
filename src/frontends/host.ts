// Host header normalisation (SPEC §2): strip the port, lowercase, drop one
// trailing dot. IPv6 literals keep their brackets, so `[::1]:8080` is looked
// up as `frontend:[::1]`.

const HOST_CHARS = /^[a-z0-9._\-*]+$|^\[[0-9a-f:.]+\]$/;

/** The lookup name for a Host value, or null when it is missing or not a host. */
export function normalizeHost(raw: string | undefined): string | null {
  if (raw === undefined || raw.length === 0) return null;
  let host = raw;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    if (end === -1) return null;
    const rest = host.slice(end + 1);
    if (rest.length > 0 && !/^:\d*$/.test(rest)) return null;
    host = host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) {
      if (!/^\d*$/.test(host.slice(colon + 1))) return null;
      host = host.slice(0, colon);
    }
  }
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253 || !HOST_CHARS.test(host)) return null;
  return host;
}

/**
 * The authority of an absolute-form request target (`http://h:p/x`), or null.
 * RFC 9112 §3.2.2: such a target is routed by its authority, not by Host.
 */
export function splitAbsoluteTarget(target: string): { authority: string; path: string } | null {
  const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
  if (!m) return null;
  const authority = m[1] ?? '';
  if (authority.includes('@')) return null;
  let path = m[2] ?? '';
  if (path.length === 0 || path.charCodeAt(0) === 63 /* ? */) path = '/' + path;
  return { authority, path };
}

/**
 * The frontend keys that can serve a normalised host, in lookup order: the
 * host itself, its wildcards from the most specific suffix on ("*.b.c" then
 * "*.c"), then "*". The table resolves in this order (without building the
 * list); explain and the Redis adapter's per-request reads use the list.
 */
export function lookupKeys(host: string): string[] {
  const keys = [host];
  for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) keys.push('*' + host.slice(dot));
  keys.push('*');
  return keys;
}
