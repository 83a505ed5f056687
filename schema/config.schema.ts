// The config file (config.json) as one TypeBox schema: it is both the JSON
// Schema that validates the file (and that editors use) and, through Static<>,
// the type of a validated raw file. Both Hipache generations are accepted in
// the same object; src/config/normalize.ts maps them to SwitchyardConfig.
// Regenerate schema/config.schema.json with `npx tsx scripts/gen-schemas.ts`.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { HealthCheckSchema } from './vhosts.schema.js';

export const CONFIG_SCHEMA_ID = 'https://switchyard.dev/schema/config.schema.json';

const Port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });
const Seconds = (description: string) => Type.Number({ exclusiveMinimum: 0, description });
const Path = (description: string) => Type.String({ minLength: 1, description });
const Nullable = <T extends TSchema>(schema: T, description: string) =>
  Type.Union([schema, Type.Null()], { description });
const OneOrMany = <T extends TSchema>(item: T, description: string) =>
  Type.Union([item, Type.Array(item)], { description });

const Address = Type.String({ minLength: 1, description: 'An IPv4 or IPv6 address (or host name) to listen on.' });
const ProxyProtocol = Type.Boolean({
  description:
    'Every connection starts with a PROXY protocol header (v1 or v2, as HAProxy, AWS NLB and others send) naming the client, and comes from a peer in server.trustedProxies; otherwise it is closed (default false).',
});

export const ServerSchema = Type.Object(
  {
    accessLog: Type.Optional(
      Nullable(Path('File path, or "-" for standard output.'), 'Access log, in server.accessLogFormat; "-" writes it to standard output; null: no access log (the default).'),
    ),
    accessLogFormat: Type.Optional(
      Type.Union([Type.Literal('combined'), Type.Literal('json')], {
        description: 'Access log lines: "combined" (nginx combined followed by the request id; the default) or "json" (one object a line: time, client, method, host, path, protocol, status, bytes, duration_ms, upstream_ms, backend, frontend, request_id, retries, error, user_agent, referer; WebSocket tunnels add bytes_in and bytes_out).',
      }),
    ),
    logFormat: Type.Optional(
      Type.Union([Type.Literal('text'), Type.Literal('json')], {
        description: 'The process log on standard error: "text" (time LEVEL process [component] message key=value; the default) or "json" (one object a line: time, level, process, worker, component, msg and the event\'s fields).',
      }),
    ),
    workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, description: 'Number of worker processes (default 1).' })),
    maxSockets: Type.Optional(Type.Integer({ minimum: 1, description: 'Maximum sockets per backend (default 100).' })),
    tcpTimeout: Type.Optional(Seconds('Seconds a backend may take to answer before the client gets a 504 (default 30).')),
    deadBackendTTL: Type.Optional(Type.Integer({ minimum: 1, description: 'Seconds a backend stays marked dead (default 30).' })),
    retryOnError: Type.Optional(Type.Integer({ minimum: 0, description: 'Failed connections retried on another backend (default 3).' })),
    deadBackendOn500: Type.Optional(Type.Boolean({ description: 'A 500 from a backend marks it dead (default true).' })),
    httpKeepAlive: Type.Optional(Type.Boolean({ description: 'Pooled keep-alive connections to backends (default true; false closes each backend connection after one request).' })),
    lruCache: Type.Optional(
      Type.Object(
        { size: Type.Optional(Type.Integer({ minimum: 0 })), ttl: Type.Optional(Type.Number({ minimum: 0 })) },
        { additionalProperties: false, description: 'Hipache 0.4 route cache. Accepted and ignored: Switchyard holds an exact in-memory table kept current by Redis notifications.' },
      ),
    ),
    staticDir: Type.Optional(Nullable(Path('Directory path.'), 'Directory holding error_<status>.html pages; null: built-in pages.')),
    debug: Type.Optional(Type.Boolean({ description: 'Verbose logging (default false).' })),
    headersTimeout: Type.Optional(Seconds('Seconds to receive a complete request head before a 408 (default 10).')),
    keepAliveTimeout: Type.Optional(Seconds('Seconds a kept-alive client connection may stay idle between requests before it is closed (default 75).')),
    idleTimeout: Type.Optional(
      Seconds('Seconds a client may stall a request: its body sends no byte, or it reads nothing of the answer; then the backend request is aborted (default 60).'),
    ),
    websocketIdleTimeout: Type.Optional(Seconds('Seconds a WebSocket may go without a byte in either direction before both sides are closed (default: never).')),
    maxConnections: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Client connections a worker holds open, over all its listeners; beyond it a new connection is closed at once (default 0: no limit).' }),
    ),
    workerMemoryLimit: Type.Optional(Type.Integer({ minimum: 0, description: 'MiB of RSS above which a worker drains and is replaced; 0 disables (default 512).' })),
    memoryCheckInterval: Type.Optional(Seconds('Seconds between worker memory checks (default 10).')),
    drainTimeout: Type.Optional(Type.Number({ minimum: 0, description: 'Seconds a draining worker waits for in-flight requests (default 30).' })),
    trustedProxies: Type.Optional(
      Type.Array(Type.String({ minLength: 1, description: 'An IP address, a CIDR ("10.0.0.0/8", "fd00::/8"), or "loopback", "private" (RFC 1918, RFC 4193, link-local) or "all".' }), {
        description:
          'Peers whose X-Forwarded-* and X-Real-IP headers are kept and whose X-Debug is honoured; any other peer\'s are replaced by the proxy\'s own. Also the peers allowed to send a PROXY header. Default ["loopback", "private"]; ["all"] is Hipache\'s behaviour.',
      }),
    ),
    shutdownDelay: Type.Optional(
      Type.Number({ minimum: 0, description: 'Seconds between SIGTERM and the drain: /readyz answers 503 while the listeners still serve, so that load balancers stop sending first (default 0).' }),
    ),
    reloadTimeout: Type.Optional(Seconds('Seconds a reload\'s new workers must listen and stay alive, or the reload is rolled back (default 10).')),
    healthCheck: Type.Optional(
      Type.Union([HealthCheckSchema, Type.Literal(false)], {
        description:
          'Active health checks of every frontend\'s backends (a vhost\'s own healthCheck overrides it field by field; false or absent: only vhosts that set healthCheck are checked).',
      }),
    ),
    port: Type.Optional(Port('Pre-0.4 style: HTTP port. Use http.port instead.')),
    address: Type.Optional(OneOrMany(Address, 'Pre-0.4 style: IPv4 address(es) to listen on. Use http.bind instead.')),
    address6: Type.Optional(OneOrMany(Address, 'Pre-0.4 style: IPv6 address(es) to listen on. Use http.bind instead.')),
    https: Type.Optional(
      Type.Object(
        {
          port: Type.Optional(Port('HTTPS port (default 443).')),
          key: Path('Private key file (PEM).'),
          cert: Path('Certificate file (PEM).'),
          ca: Type.Optional(OneOrMany(Path('CA file (PEM).'), 'CA certificate file(s).')),
        },
        { additionalProperties: false, description: 'Pre-0.4 style HTTPS listener, on the same addresses as HTTP. Use https instead.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'Proxy behaviour.' },
);

export const HttpSchema = Type.Object(
  {
    port: Type.Optional(Port('Port to listen on (default 80).')),
    bind: Type.Optional(OneOrMany(Address, 'Address(es) to listen on (default "0.0.0.0"); an empty list disables the listener.')),
    proxyProtocol: Type.Optional(ProxyProtocol),
  },
  { additionalProperties: false },
);

export const AcmeSchema = Type.Object(
  {
    directory: Type.String({ pattern: '^https?://', description: 'The ACME directory URL, e.g. "https://acme-v02.api.letsencrypt.org/directory".' }),
    email: Type.String({ minLength: 3, description: 'The ACME account\'s contact address (mailto:).' }),
    ca: Type.Optional(Path('CA bundle (PEM) the directory\'s own TLS certificate is checked against, relative to the config file; default: the system\'s CAs.')),
    storage: Type.Optional(
      Path('Directory for the ACME account key and the certificates ordered, when no Redis is configured (with Redis they are kept under acme: and tls: keys); relative to the config file (default "acme").'),
    ),
    checkInterval: Type.Optional(Seconds('Seconds between looks for configured hosts that need a certificate (default 60).')),
    retryAfter: Type.Optional(Seconds('Seconds before a host whose order failed is tried again; doubled at each failure in a row, up to a day (default 300).')),
  },
  {
    additionalProperties: false,
    description:
      'Certificates ordered from an ACME CA (HTTP-01, answered by the proxy on its HTTP listener) for the exact hosts of the table that have none; renewed at two thirds of their lifetime.',
  },
);

export const HttpsSchema = Type.Object(
  {
    port: Type.Optional(Port('Port to listen on (default 443).')),
    bind: Type.Optional(OneOrMany(Address, 'Address(es) to listen on (default "0.0.0.0"); an empty list disables the listener.')),
    key: Type.Optional(Path('Private key file (PEM), relative to the config file. Required when the listener is enabled.')),
    cert: Type.Optional(Path('Certificate file (PEM), relative to the config file. Required when the listener is enabled.')),
    ca: Type.Optional(OneOrMany(Path('CA file (PEM).'), 'CA certificate file(s), relative to the config file.')),
    certDir: Type.Optional(
      Path(
        'A directory of PEM files, each a certificate chain and its private key, served for the DNS names in the certificate\'s SANs; watched: files added, replaced or removed take effect at once. Relative to the config file.',
      ),
    ),
    ciphers: Type.Optional(
      Type.String({ minLength: 1, description: 'OpenSSL cipher list (TLS 1.2 and 1.3 names) replacing the default, Mozilla\'s "intermediate" profile (ECDHE key exchange, AEAD ciphers only).' }),
    ),
    minVersion: Type.Optional(Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], { description: 'Oldest TLS version accepted (default "TLSv1.2").' })),
    proxyProtocol: Type.Optional(ProxyProtocol),
    ticketKeyRotation: Type.Optional(
      Seconds(
        'Seconds between replacements of the TLS session ticket key every worker shares (default 43200, 12 h); with Redis, every instance on it shares the key. A ticket issued under the previous key gets a full handshake.',
      ),
    ),
    acme: Type.Optional(AcmeSchema),
  },
  { additionalProperties: false },
);

const DriverUrl = Type.String({
  pattern: '^redis:',
  description: 'redis://[user][:password@]host[:port][/db][#keyprefix]; "redis:" alone is 127.0.0.1:6379.',
});

export const SentinelSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Name of the monitored master, as in `sentinel monitor <name> <ip> <port> <quorum>`.' }),
    nodes: Type.Array(Type.String({ minLength: 1, description: '"host:port" of a sentinel ("[::1]:26379" for IPv6); the port defaults to 26379.' }), {
      minItems: 1,
      description: 'Sentinels, asked in this order; the first that answers names the master.',
    }),
    password: Type.Optional(Type.String({ minLength: 1, description: 'AUTH password of the sentinels themselves (their `requirepass`), if any.' })),
    masterPassword: Type.Optional(Type.String({ minLength: 1, description: 'AUTH password of the master the sentinels name (and of any replica promoted in its place), if any.' })),
    db: Type.Optional(Type.Integer({ minimum: 0, description: 'Database number on the master (default 0).' })),
    prefix: Type.Optional(Type.String({ description: 'Key prefix applied to `frontend:` and `dead:` keys, like a driver URL\'s #prefix (default "").' })),
  },
  {
    additionalProperties: false,
    description:
      'Find the Redis master through Redis Sentinel instead of "driver" (not both): reads, change tracking and dead marks go to the master the sentinels name, and follow it when they fail over.',
  },
);

export const RedisOptionsSchema = Type.Object(
  {
    sentinel: Type.Optional(SentinelSchema),
    tracking: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('keyspace'), Type.Literal('tracking'), Type.Literal('per-request')], {
        description: 'How changes are followed: keyspace notifications, client tracking, or a Redis read per request; "auto" (default) tries them in that order.',
      }),
    ),
    readYourWrites: Type.Optional(
      Type.Boolean({
        description:
          'A request sent after a redis write has returned sees that write (Hipache semantics; default true). Costs one coalesced PING round trip to redis per batch of requests; false serves from the table as notifications arrive (sub-millisecond, not guaranteed).',
      }),
    ),
    syncTimeout: Type.Optional(Type.Integer({ minimum: 0, description: 'Milliseconds a request may wait for a change Redis just announced (default 250).' })),
  },
  { additionalProperties: false, description: 'Redis source options; the endpoints come from "driver", or from "sentinel".' },
);

export const FileSourceSchema = Type.Object(
  {
    path: Path('A vhosts YAML/JSON file, or a directory of them, relative to the config file.'),
    pollInterval: Type.Optional(
      Seconds('Seconds between re-checks of the files, a safety net for file systems that miss change events (default 2).'),
    ),
  },
  { additionalProperties: false, description: 'Serve the vhosts of a watched file.' },
);

export const AdminSchema = Type.Object(
  {
    port: Port('Port of the read-only admin API (status, routes, event history).'),
    bind: Type.Optional(Address),
    token: Type.Optional(
      Type.String({ minLength: 16, description: 'Bearer token the API requires; mandatory when bind is not a loopback address.' }),
    ),
  },
  { additionalProperties: false, description: 'Read-only JSON admin API, used by `switchyard plan` and `switchyard explain`. Off unless configured; binds 127.0.0.1 by default.' },
);

export const MetricsSchema = Type.Object(
  {
    hosts: Type.Optional(
      Type.Array(
        Type.String({
          pattern: '^(\\*\\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$',
          description: 'A host ("api.example.com") or a pattern ("*.example.com": every name under it, one series for all).',
        }),
        { uniqueItems: true, maxItems: 1000, description: 'Hosts whose requests are counted under their own `host` label; the others have none.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'What the admin API\'s /metrics labels (SPEC §8). Off the request path either way.' },
);

export const ConfigFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'The JSON Schema of this file, for editors.' })),
    server: Type.Optional(ServerSchema),
    http: Type.Optional(Nullable(HttpSchema, 'HTTP listener; null disables it.')),
    https: Type.Optional(Nullable(HttpsSchema, 'HTTPS listener; null or absent: no HTTPS.')),
    driver: Type.Optional(
      Type.Union([DriverUrl, Type.Array(DriverUrl, { minItems: 1, maxItems: 2 })], {
        description: 'Redis URL, or [replica URL, master URL]: read from the first, dead marks written to the second.',
      }),
    ),
    user: Type.Optional(Type.String({ minLength: 1, description: 'User the workers run as when started as root.' })),
    redisHost: Type.Optional(Type.String({ minLength: 1, description: 'Pre-0.4 style. Use driver instead.' })),
    redisPort: Type.Optional(Port('Pre-0.4 style. Use driver instead.')),
    redisDatabase: Type.Optional(Type.Integer({ minimum: 0, description: 'Pre-0.4 style. Use driver instead.' })),
    redisPassword: Type.Optional(Type.String({ description: 'Pre-0.4 style. Use driver instead.' })),
    redisMasterHost: Type.Optional(Type.String({ minLength: 1, description: 'Pre-0.4 style. Use driver instead.' })),
    redisMasterPort: Type.Optional(Port('Pre-0.4 style. Use driver instead.')),
    redisMasterPassword: Type.Optional(Type.String({ description: 'Pre-0.4 style. Use driver instead.' })),
    redisMasterDatabase: Type.Optional(Type.Integer({ minimum: 0, description: 'Hipache 0.3 style. Use driver instead.' })),
    redis: Type.Optional(RedisOptionsSchema),
    file: Type.Optional(FileSourceSchema),
    admin: Type.Optional(AdminSchema),
    metrics: Type.Optional(MetricsSchema),
    precedence: Type.Optional(
      Type.Union([Type.Literal('redis'), Type.Literal('file')], {
        description: 'With both sources, whose definition of a host wins (default "redis").',
      }),
    ),
  },
  {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: CONFIG_SCHEMA_ID,
    title: 'Switchyard configuration',
    description: 'config.json: Hipache 0.4 and pre-0.4 keys, plus the Switchyard sources.',
    additionalProperties: false,
  },
);

export type ConfigFile = Static<typeof ConfigFileSchema>;
export type ServerSection = Static<typeof ServerSchema>;
export type SentinelSection = Static<typeof SentinelSchema>;
export type AcmeSection = Static<typeof AcmeSchema>;
