// `switchyard explain <host>`: why a request for this host goes where it
// goes on a running instance: the rule that matched, the source it came
// from, and each backend's state for this host (GET /route of the admin API).

import { lookupKeys } from '../../../src/frontends/host.js';
import { prefixOfKey } from '../../../src/frontends/path.js';
import { adminGet, adminGetOk, resolveAdmin, type AdminFrontends, type AdminRoute, type AdminTarget } from '../admin-client.js';
import { parseCommandArgs } from '../args.js';
import { optionText } from '../diff.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Command } from '../command.js';

const USAGE = `Usage: switchyard explain <host> [--path PATH] [--admin URL | --config FILE] [--token T]

Explains how a running Switchyard routes requests for <host> (a Host header
value: a port and a trailing dot are ignored): the rule that matches (exact,
wildcard, catch-all), the source it comes from (redis or file), the vhost id,
its per-vhost options and where they are set (an options:<key> hash, a vhosts entry),
every backend with its state for this host (live, or dead: no traffic), and
the TLS certificate a handshake naming the host gets.

Options:
      --path PATH    a request path (/api/v1?x): the path frontend serving it,
                     if any (the longest prefix within the host level)
      --admin URL    the admin API, e.g. http://127.0.0.1:9090
  -c, --config FILE  the proxy's config: its "admin" section gives the URL
                     (and the token). Default: config/config.json when present
      --token T      bearer token of the admin API (or $SWITCHYARD_ADMIN_TOKEN)
  -h, --help         show this help

Exit status: 0 the host is served, 1 unknown host (the proxy answers 400),
2 not a host name, wrong arguments, or admin API unreachable.
`;

const OPTIONS = {
  path: { type: 'string' },
  admin: { type: 'string' },
  config: { type: 'string', short: 'c' },
  token: { type: 'string' },
} as const;

interface RouteReply {
  host: string;
  route: AdminRoute | null;
  /** The certificate a handshake naming the host gets; null: the default; absent from an older proxy. */
  certificate?: { source: string; key: string; notAfter: string | null } | null;
}

export const command: Command = {
  name: 'explain',
  usage: USAGE,
  async run(argv, io) {
    const args = parseCommandArgs(argv, OPTIONS, ['host']);
    const target = resolveAdmin(args);
    const path = args.string('path');
    const query = `host=${encodeURIComponent(args.positionals[0]!)}${path === undefined ? '' : `&path=${encodeURIComponent(path)}`}`;
    const reply = await adminGet<RouteReply>(target, `/route?${query}`);
    if (reply.status === 400) throw new CliError('USAGE', `"${args.positionals[0]}" is not a host name`);
    const { host, route } = reply.body;
    if (reply.status === 404 || route === null) {
      io.out(`${host}: unknown host: no exact, wildcard or catch-all frontend matches; the proxy answers 400\n  looked up: ${lookupOrder(host)}\n`);
      return EXIT_FINDINGS;
    }
    if (reply.status !== 200) throw new CliError('PROTOCOL', `GET /route answered ${reply.status}`);
    io.out(describe(host, route, await otherSources(target, route)) + describeCertificate(reply.body.certificate));
    return EXIT_OK;
  },
};

function describe(host: string, route: AdminRoute, others: string[]): string {
  const prefix = prefixOfKey(route.key);
  const rule =
    prefix !== '' ? `the path frontend "${route.key}" (${route.rule} host, prefix ${prefix})` : route.rule === 'exact' ? 'the exact rule' : `the ${route.rule} rule "${route.key}"`;
  const lines = [`${host} is served by ${rule} from the ${route.source} source`, `  id:        ${route.id}`];
  if (Object.keys(route.options).length > 0) lines.push(`  options:   ${optionsOrigin(route)}`);
  for (const [name, value] of Object.entries(route.options)) lines.push(`  ${`${name}:`.padEnd(10)} ${optionText(value)}`);
  lines.push(`  looked up: ${lookupOrder(host)} (the first defined wins)`);
  if (others.length > 0) lines.push(`  also defined by: ${others.join(', ')} (not served: lower precedence)`);
  lines.push('  backends:');
  const width = Math.max(...route.backends.map((b) => b.url.length), 0);
  for (const b of route.backends) lines.push(`    ${b.index}  ${b.url.padEnd(width)}  ${stateOf(b)}`);
  const live = route.backends.filter((b) => b.valid && !b.dead).length;
  if (route.backends.length === 0) lines.push('    (none: the proxy answers 502)');
  else if (live === 0) lines.push('    no live backend: the proxy answers 502');
  return `${lines.join('\n')}\n`;
}

/** Where the route's per-vhost options are set: a path frontend takes those of its host level it does not set itself. */
function optionsOrigin(route: AdminRoute): string {
  const prefix = prefixOfKey(route.key);
  const host = route.key.slice(0, route.key.length - prefix.length);
  if (route.source === 'redis') {
    return prefix === '' ? `from Redis, the hash options:${route.key}` : `from Redis, the hashes options:${route.key}, then options:${host} (the host level's)`;
  }
  if (route.source === 'file') return prefix === '' ? `from the vhosts file, host "${host}"` : `from the vhosts file, paths "${prefix}" of host "${host}", then the host's`;
  return `from the ${route.source} source`;
}

function describeCertificate(certificate: RouteReply['certificate']): string {
  if (certificate === undefined) return '';
  if (certificate === null) return '  certificate: the default (https.cert): no other covers this name\n';
  // No expiry yet: a large snapshot deferred its check, which the first handshake naming it makes.
  if (certificate.notAfter === null) return `  certificate: ${certificate.key} from the ${certificate.source} source, not checked yet\n`;
  return `  certificate: ${certificate.key} from the ${certificate.source} source, valid until ${certificate.notAfter}\n`;
}

function stateOf(b: AdminRoute['backends'][number]): string {
  if (!b.valid) return 'invalid URL (never used)';
  return b.dead ? 'dead (marked for this host: no traffic until the mark expires)' : 'live';
}

/** Exact host, then every wildcard from the most specific suffix, then "*". */
function lookupOrder(host: string): string {
  return lookupKeys(host).join(', ');
}

/** Sources that define the same key but lose to `route`'s under the precedence. */
async function otherSources(target: AdminTarget, route: AdminRoute): Promise<string[]> {
  const { frontends } = await adminGetOk<AdminFrontends>(target, '/frontends');
  return frontends.filter((r) => r.key === route.key && r.source !== route.source).map((r) => `${r.source} (id ${r.id})`);
}
