// What a failure means, for HTTP requests and WebSocket upgrades alike: one
// finite set of codes (they are the `x-debug-error` values and, lower-cased,
// the `reason` of switchyard_backend_errors_total), and one table saying, for
// each way a backend attempt can fail, whether to retry elsewhere, whether
// the backend is marked dead, and what the client is answered.

/** Why an attempt on one backend failed. Raw socket codes never leave this module. */
export type BackendFailure =
  /** Nothing listens there (ECONNREFUSED). */
  | 'CONNECT_REFUSED'
  /** No route to the host or its network (EHOSTUNREACH, ENETUNREACH, ...). */
  | 'HOST_UNREACHABLE'
  /** The backend's name does not resolve (ENOTFOUND, EAI_AGAIN, ...). */
  | 'DNS_FAILURE'
  /** The connection (and the TLS handshake, for https://) took longer than tcpTimeout. */
  | 'CONNECT_TIMEOUT'
  /** The TLS handshake failed: an untrusted, expired or mismatched certificate, or a peer not speaking TLS. */
  | 'TLS_FAILURE'
  /** Reset (ECONNRESET, EPIPE) before any byte of the answer. */
  | 'CONNECTION_RESET'
  /** Closed cleanly before any byte of the answer. */
  | 'UPSTREAM_CLOSED'
  /** Connected, request sent, no answer (or no end of its head) within tcpTimeout. */
  | 'HEADERS_TIMEOUT'
  /** The answer started, then its body stalled for tcpTimeout. */
  | 'BODY_TIMEOUT'
  /** The connection ended after the answer started (in its head or its body). */
  | 'RESPONSE_TRUNCATED'
  /** The answer is not HTTP/1.x this proxy can relay. */
  | 'BAD_RESPONSE'
  /** The proxy is shutting down. */
  | 'POOL_CLOSED'
  /** Not the backend: the client sent no byte of its request body for idleTimeout. */
  | 'CLIENT_BODY_TIMEOUT'
  /** Not the backend: the client read nothing of the answer for idleTimeout. */
  | 'CLIENT_READ_TIMEOUT'
  /** Any other socket error. */
  | 'SOCKET_ERROR';

/** Errors the proxy answers itself, before or instead of a backend. */
export type ProxyError =
  | 'MISSING_OR_INVALID_HOST'
  | 'AMBIGUOUS_FRAMING'
  | 'UNKNOWN_HOST'
  | 'NO_CONFIGURATION_YET'
  | 'NO_BACKENDS'
  | 'ALL_BACKENDS_DEAD'
  | 'NO_BACKEND_LEFT'
  /** Every attempt failed to reach a backend (or its connection failed before any answer). */
  | 'BACKEND_UNAVAILABLE'
  /** The backend was slower than tcpTimeout. */
  | 'BACKEND_TIMEOUT';

/** Every code a client may see in `x-debug-error`. */
export type ErrorCode = ProxyError | BackendFailure;

/** What to do about one failed attempt. */
export interface Verdict {
  /** Try another live backend (when retryOnError allows). */
  readonly retry: boolean;
  /** Report the backend dead (PassiveHealth spares a frontend's only backend). */
  readonly markDead: boolean;
  /** The error status to answer; null: the answer has started, destroy the client connection. */
  readonly status: 408 | 502 | 504 | null;
  /** The `x-debug-error` code of that answer. */
  readonly code: ErrorCode;
}

interface Rule {
  /**
   * "always": the request never reached the backend; "idempotent": it may
   * have, so only a request that can be repeated (RFC 9110 §9.2.2) is sent
   * again; "never": the backend has it.
   */
  retry: 'always' | 'idempotent' | 'never';
  markDead: boolean;
  status: 408 | 502 | 504;
  code: ErrorCode;
}

/**
 * The policy. Retrying is safe when the backend cannot have acted on the
 * request: it never accepted it (refused, unreachable, unresolved, TLS never
 * established). A connection that died before any byte of its answer (most
 * often a kept-alive connection the backend closed under us) may have
 * delivered it: only an idempotent request is sent again (a POST must not
 * arrive twice; nginx's proxy_next_upstream does the same). Marking dead is for
 * a backend that cannot be reached or stops answering, not for a connection
 * lost or a TLS setup this proxy does not trust (marks are shared through
 * Redis with instances whose trust may differ).
 */
const RULES: Record<BackendFailure, Rule> = {
  CONNECT_REFUSED: { retry: 'always', markDead: true, status: 502, code: 'BACKEND_UNAVAILABLE' },
  HOST_UNREACHABLE: { retry: 'always', markDead: true, status: 502, code: 'BACKEND_UNAVAILABLE' },
  DNS_FAILURE: { retry: 'always', markDead: true, status: 502, code: 'BACKEND_UNAVAILABLE' },
  CONNECT_TIMEOUT: { retry: 'always', markDead: true, status: 504, code: 'BACKEND_TIMEOUT' },
  TLS_FAILURE: { retry: 'always', markDead: false, status: 502, code: 'TLS_FAILURE' },
  CONNECTION_RESET: { retry: 'idempotent', markDead: false, status: 502, code: 'BACKEND_UNAVAILABLE' },
  UPSTREAM_CLOSED: { retry: 'idempotent', markDead: false, status: 502, code: 'BACKEND_UNAVAILABLE' },
  HEADERS_TIMEOUT: { retry: 'never', markDead: true, status: 504, code: 'BACKEND_TIMEOUT' },
  BODY_TIMEOUT: { retry: 'never', markDead: true, status: 504, code: 'BACKEND_TIMEOUT' },
  RESPONSE_TRUNCATED: { retry: 'never', markDead: false, status: 502, code: 'RESPONSE_TRUNCATED' },
  BAD_RESPONSE: { retry: 'never', markDead: false, status: 502, code: 'BAD_RESPONSE' },
  POOL_CLOSED: { retry: 'never', markDead: false, status: 502, code: 'POOL_CLOSED' },
  // The client stalled: the backend request is aborted, and the client gets a 408 if it is still owed an answer.
  CLIENT_BODY_TIMEOUT: { retry: 'never', markDead: false, status: 408, code: 'CLIENT_BODY_TIMEOUT' },
  CLIENT_READ_TIMEOUT: { retry: 'never', markDead: false, status: 408, code: 'CLIENT_READ_TIMEOUT' },
  SOCKET_ERROR: { retry: 'never', markDead: false, status: 502, code: 'SOCKET_ERROR' },
};

/** The failures, for tests and for labelling metrics up front. */
export const BACKEND_FAILURES = Object.keys(RULES) as BackendFailure[];

// Built once: judging a failure allocates nothing.
/** An idempotent request, intact. */
const FRESH = verdicts((r) => ({ ...r, retry: r.retry !== 'never' }));
/** A request that must not be repeated once the backend may have it (POST, PATCH, ...). */
const UNSAFE = verdicts((r) => ({ ...r, retry: r.retry === 'always' }));
/** The request body was partly read: it cannot be sent again. */
const SPENT = verdicts((r) => ({ ...r, retry: false }));
/** Part of the answer reached the client: only dropping the connection tells it something went wrong. */
const STARTED = verdicts((r) => ({ ...r, retry: false, status: null }));

function verdicts(make: (rule: Rule) => Omit<Verdict, 'retry'> & { retry: boolean }): Record<BackendFailure, Verdict> {
  const out = {} as Record<BackendFailure, Verdict>;
  for (const failure of BACKEND_FAILURES) out[failure] = Object.freeze(make(RULES[failure]));
  return out;
}

/**
 * What a failed attempt means. `answerStarted`: some of the answer was sent
 * to the client; `bodyIntact`: the request (body included) can be sent
 * again; `idempotent`: its method may be repeated (isIdempotent).
 */
export function judge(failure: BackendFailure, answerStarted: boolean, bodyIntact: boolean, idempotent: boolean): Verdict {
  if (answerStarted) return STARTED[failure];
  if (!bodyIntact) return SPENT[failure];
  return idempotent ? FRESH[failure] : UNSAFE[failure];
}

/** RFC 9110 §9.2.2: methods whose repetition has the effect of one request. */
export function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
    case 'PUT':
    case 'DELETE':
      return true;
    default:
      return false;
  }
}

const SOCKET_CODES = new Map<string, BackendFailure>([
  ['ECONNREFUSED', 'CONNECT_REFUSED'],
  ['EHOSTUNREACH', 'HOST_UNREACHABLE'],
  ['ENETUNREACH', 'HOST_UNREACHABLE'],
  ['EHOSTDOWN', 'HOST_UNREACHABLE'],
  ['ENETDOWN', 'HOST_UNREACHABLE'],
  ['ENOTFOUND', 'DNS_FAILURE'],
  ['EAI_AGAIN', 'DNS_FAILURE'],
  ['EAI_FAIL', 'DNS_FAILURE'],
  ['EAI_NODATA', 'DNS_FAILURE'],
  ['EAI_NONAME', 'DNS_FAILURE'],
  ['ECONNRESET', 'CONNECTION_RESET'],
  ['EPIPE', 'CONNECTION_RESET'],
  ['ECONNABORTED', 'CONNECTION_RESET'],
  ['EPROTO', 'TLS_FAILURE'],
]);

/** OpenSSL's certificate verification results, as Node names them (err.code). */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/**
 * The failure a socket or TLS error stands for; anything unknown is
 * SOCKET_ERROR. `connected`: the connection (TLS included) was up, the
 * request sent or being sent.
 */
export function socketFailure(err: { code?: unknown }, connected: boolean): BackendFailure {
  const code = typeof err.code === 'string' ? err.code : '';
  // The kernel gave up: on the handshake (SYN unanswered), or on a request the backend may have received.
  if (code === 'ETIMEDOUT') return connected ? 'HEADERS_TIMEOUT' : 'CONNECT_TIMEOUT';
  const known = SOCKET_CODES.get(code);
  if (known !== undefined) return known;
  // ERR_TLS_CERT_ALTNAME_INVALID (the name or IP is not in the certificate), ERR_SSL_* (handshake alerts, a peer not speaking TLS).
  if (CERTIFICATE_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'TLS_FAILURE';
  return 'SOCKET_ERROR';
}

export interface StatusPolicy {
  deadBackendOn500: boolean;
}

/** Does this answer mean the backend is unhealthy? 4xx and a 503 with Retry-After (maintenance) never do. */
export function isUnhealthyStatus(status: number, retryAfter: boolean, policy: StatusPolicy): boolean {
  if (status === 502 || status === 504) return true;
  if (status === 503) return !retryAfter;
  return status === 500 && policy.deadBackendOn500;
}
