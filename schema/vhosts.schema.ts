// The vhosts file (SPEC §1) as one TypeBox schema: the JSON Schema editors
// and the file adapter validate against, and, through Static<>, the type of a
// validated document. Regenerate schema/vhosts.schema.json with
// `npx tsx scripts/gen-schemas.ts`.

import { Type, type Static } from '@sinclair/typebox';

export const VHOSTS_SCHEMA_ID = 'https://switchyard.dev/schema/vhosts.schema.json';

/**
 * A vhosts key: an exact host name or IP literal, `*.suffix`, or `*`. Case
 * and one trailing dot are accepted and normalised away, as for Host headers.
 */
export const HOST_KEY_PATTERN = '^(\\*|(\\*\\.)?[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*\\.?|\\[[0-9A-Fa-f:.]+\\])$';

const BackendUrl = Type.String({
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$',
  description: 'An http:// or https:// URL (no user info, query or fragment); a path is prepended to request paths.',
});

export const WeightedBackendSchema = Type.Object(
  {
    url: BackendUrl,
    weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Relative share of the traffic (default 1; at most 1000).' })),
  },
  { additionalProperties: false },
);

export const BackendSchema = Type.Union([BackendUrl, WeightedBackendSchema], {
  description: 'A backend URL, or { url, weight }.',
});

export const VhostTlsSchema = Type.Object(
  {
    cert: Type.String({ minLength: 1, description: 'The certificate chain (PEM, leaf first), relative to this vhosts file.' }),
    key: Type.String({ minLength: 1, description: 'Its private key (PEM, not encrypted), relative to this vhosts file; the same file as `cert` when it holds both.' }),
  },
  {
    additionalProperties: false,
    description:
      'The certificate served on the HTTPS listener for this host (a wildcard host: for the names it covers); it must cover the host. The files are watched: a renewed certificate is served without a restart.',
  },
);

/**
 * An active health check (SPEC §9): every `interval` seconds a GET of `path`
 * on each backend, with the frontend's Host; a connection failure, a timeout
 * or a status outside 200-399 fails it (a redirect is a pass, never followed).
 * Shared by server.healthCheck (config.json) and the per-vhost option.
 */
export const HealthCheckSchema = Type.Object(
  {
    path: Type.Optional(
      Type.String({ pattern: '^/[\\x21-\\x7e]*$', maxLength: 1024, description: 'The path requested, query string allowed (default "/"); after the backend URL\'s own path.' }),
    ),
    interval: Type.Optional(Type.Number({ minimum: 0.1, maximum: 3600, description: 'Seconds between two checks of a backend (default 10).' })),
    timeout: Type.Optional(
      Type.Number({ minimum: 0.05, maximum: 3600, description: 'Seconds a check may take, connection included, before it fails (default 2; at most the interval).' }),
    ),
    unhealthyAfter: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Failed checks in a row that mark a backend dead (default 3).' })),
    healthyAfter: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Passed checks in a row that revive a backend the checks marked dead (default 2).' })),
  },
  { additionalProperties: false, description: 'Active health checks of the backends; unset fields take server.healthCheck\'s, then the defaults.' },
);

/** A cookie name (RFC 6265 §4.1.1: an RFC 9110 token), at most 64 characters. */
export const COOKIE_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$";

export const StickySchema = Type.Object(
  {
    cookie: Type.String({ pattern: COOKIE_NAME_PATTERN, description: 'The cookie that names the backend (a token: letters, digits, !#$%&\'*+-.^_`|~; at most 64).' }),
  },
  {
    additionalProperties: false,
    description:
      'Sticky sessions: the first answer sets this cookie (Path=/, HttpOnly, SameSite=Lax, Secure over HTTPS) to an opaque name of the backend that answered; later requests carrying it go to that backend while it is live and listed, else to a new choice with a new cookie.',
  },
);

/** The per-vhost options a host and its path frontends both take. */
const vhostOptions = {
  id: Type.Optional(Type.String({ minLength: 1, description: 'Identifier shown as the vhost name (default: the host, or for a path the host and path).' })),
  tcpTimeout: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, description: 'Seconds this vhost\'s backends may take to answer before a 504 (default: server.tcpTimeout).' }),
  ),
  retryOnError: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Failed connections retried on another backend (default: server.retryOnError).' }),
  ),
  redirectHttps: Type.Optional(
    Type.Boolean({
      description:
        'Answer plain-HTTP requests with 308 to the same URL over HTTPS (the https listener\'s port), except ACME HTTP-01 challenges under /.well-known/acme-challenge/ (default false).',
    }),
  ),
  hsts: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 2147483647,
      description: 'Strict-Transport-Security max-age (seconds) on every answer over HTTPS, replacing the backend\'s; 0 tells browsers to forget it. Never sent over plain HTTP.',
    }),
  ),
  healthCheck: Type.Optional(
    Type.Union([HealthCheckSchema, Type.Literal(false)], {
      description: 'Active health checks of this vhost\'s backends (default: server.healthCheck, when set); false: none.',
    }),
  ),
  balance: Type.Optional(
    Type.Union([Type.Literal('random'), Type.Literal('least-requests')], {
      description:
        'How a backend is chosen among the live ones: "random" (the default, Hipache\'s; a backend listed twice is twice as likely) or "least-requests" (two picked at random, the one with fewer requests in flight in this worker wins).',
    }),
  ),
  sticky: Type.Optional(StickySchema),
};

const Backends = Type.Array(BackendSchema, {
  description: 'Where requests go, chosen among the live ones (see balance and sticky). An empty list answers 502.',
});

/**
 * A path prefix under a host: "/api" matches "/api", "/api/" and "/api/..."
 * (not "/apiary"). Canonical: no trailing "/", no empty, "." or ".."
 * segment, no "?" or "#", printable ASCII, at most 8 segments (the file
 * adapter checks what a pattern cannot say well).
 */
export const PATH_KEY_PATTERN = '^/';

export const VhostPathSchema = Type.Object(
  {
    ...vhostOptions,
    backends: Backends,
    stripPrefix: Type.Optional(
      Type.Boolean({ description: 'Forward the request path without this prefix: "/api/v1" reaches the backends as "/v1", "/api" as "/" (default false).' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'A path frontend: options not given here are the host\'s.',
  },
);

export const VhostSchema = Type.Object(
  {
    ...vhostOptions,
    backends: Type.Optional(Backends),
    paths: Type.Optional(
      Type.Record(Type.String({ pattern: PATH_KEY_PATTERN }), VhostPathSchema, {
        additionalProperties: false,
        description:
          'Path frontends by prefix ("/api"): the longest prefix matching the request path on segment boundaries serves it, else the host\'s own backends; with none of either, the next less specific host (a wildcard, then "*").',
      }),
    ),
    tls: Type.Optional(VhostTlsSchema),
  },
  { additionalProperties: false, description: 'A host: its own backends, path frontends (paths), or both.' },
);

export const VhostsFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'The JSON Schema of this file, for editors.' })),
    vhosts: Type.Record(Type.String({ pattern: HOST_KEY_PATTERN }), VhostSchema, {
      additionalProperties: false,
      description: 'Frontends by host: "www.example.com", "*.example.com" (any depth) or "*" (everything else).',
    }),
  },
  {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: VHOSTS_SCHEMA_ID,
    title: 'Switchyard vhosts',
    description: 'Virtual hosts served by Switchyard\'s file source.',
    additionalProperties: false,
  },
);

export type VhostsFile = Static<typeof VhostsFileSchema>;
export type Vhost = Static<typeof VhostSchema>;
export type VhostPath = Static<typeof VhostPathSchema>;
export type BackendEntry = Static<typeof BackendSchema>;
export type VhostTls = Static<typeof VhostTlsSchema>;
export type HealthCheckEntry = Static<typeof HealthCheckSchema>;
export type Sticky = Static<typeof StickySchema>;
