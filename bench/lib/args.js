// Command-line options of `npm run bench` (node bench/run.js).

export const ALL_SCENARIOS = ['small', '64k', '1m', 'post1k', 'ws', 'tls', 'tls-new', 'tls-resumed', 'h2', 'hosts', 'paths', 'propagation'];

export const USAGE = `Usage: npm run bench -- [options]     (or: node bench/run.js [options])

Benchmarks Switchyard (bin/switchyard.js, built with \`npm run build\`) against
nginx as a reference proxy, on this machine, over loopback only. Prints one
table and writes bench/results/bench-<time>.{jsonl,md}.

Options:
  --scenarios LIST     ${ALL_SCENARIOS.join(',')} (default: all)
  --quick              short run: 1 rep, 3 s loads, 1k frontends, 50 propagation trials
  --reps N             interleaved repetitions, medians reported (default 3; --quick: 1)
  --workers N          Switchyard workers (default 1)
  --ref-workers N      nginx reference workers (default 1)
  --conns N            connections of the loaded runs (default 50)
  --duration S         seconds of each loaded run (default 10; --quick: 3)
  --c1-duration S      seconds of each 1-connection run (default 5; --quick: 2)
  --warmup S           seconds of warm-up before measuring (default 2; --quick: 1)
  --ws-conns N         WebSocket sockets in the ws scenario (default 50)
  --tls-key ec|rsa     the run's certificate: EC P-256 (default) or RSA 2048
  --tls-clients N      openssl s_time processes side by side in tls-new/tls-resumed (default 4)
  --h2-conns N         HTTP/2 connections in h2 (default 4)
  --h2-streams N       concurrent streams per HTTP/2 connection in h2 (default 32)
  --frontends LIST     hosts scenario sizes (default 1000,100000,1000000; --quick: 1000)
  --prefixes LIST      paths scenario: path frontends under one host (default 1000)
  --prop-redis-n N     trials per Redis propagation case (default 200; --quick: 50)
  --prop-file-n N      saves per file propagation case (default 100; --quick: 50)
  --prop-workers LIST  worker counts for propagation (default 1,2)
  --prop-conn LIST     connections of the Redis propagation cases: keepalive (one kept-alive
                       connection, as the shared harness measured Hipache), new (a connection
                       per request, so several workers are all reached); default keepalive,new.
                       File cases always use new connections
  --config-extra JSON  merged into Switchyard's config, e.g. '{"redis":{"readYourWrites":false}}'
  --baseline DIR       also measure the Switchyard built in DIR (another checkout, after
                       \`npm run build\` there) as row switchyard-baseline, interleaved with
                       this one in the small/64k/1m/post1k/ws and TLS scenarios: a change against
                       the code before it, in one run
  --foreign-max CORES  foreign CPU above which a run is disturbed (default 0.15)
  --retries N          retries of a disturbed measurement (default 2)
  --retry-budget N     retries allowed over the whole benchmark (default 12)
  --tool wrk|autocannon  load generator (default: wrk when installed)
  --wrk-threads N      wrk threads (default 1)
  --port-base P        ports P..P+21 are used (P+12..P+14: TLS listeners) (default 19100); refuses to start if one is taken
  --redis-port P       Redis port (default 6392)
  --out DIR            results directory (default bench/results)
  --keep-work          keep the work directory (configs, logs) even on success
  -h, --help           this help
`;

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nums = (s) => list(s).map((x) => {
  const n = Number(x.replace(/k$/i, '000').replace(/m$/i, '000000'));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive integer: ${x}`);
  return n;
});
const num = (s, name) => {
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a number: ${s}`);
  return n;
};

export function parseArgs(argv) {
  const given = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') given.help = true;
    else if (a === '--quick') given.quick = true;
    else if (a === '--keep-work') given.keepWork = true;
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`${a} needs a value`);
      given[key.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase())] = value;
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  const q = Boolean(given.quick);
  const o = {
    help: Boolean(given.help),
    quick: q,
    keepWork: Boolean(given.keepWork),
    scenarios: given.scenarios ? list(given.scenarios) : ALL_SCENARIOS,
    reps: given.reps ? num(given.reps, '--reps') : q ? 1 : 3,
    workers: given.workers ? num(given.workers, '--workers') : 1,
    refWorkers: given.refWorkers ? num(given.refWorkers, '--ref-workers') : 1,
    conns: given.conns ? num(given.conns, '--conns') : 50,
    duration: given.duration ? num(given.duration, '--duration') : q ? 3 : 10,
    c1Duration: given.c1Duration ? num(given.c1Duration, '--c1-duration') : q ? 2 : 5,
    warmup: given.warmup ? num(given.warmup, '--warmup') : q ? 1 : 2,
    wsConns: given.wsConns ? num(given.wsConns, '--ws-conns') : 50,
    wsSize: given.wsSize ? num(given.wsSize, '--ws-size') : 64,
    tlsKey: given.tlsKey ?? 'ec',
    tlsClients: given.tlsClients ? num(given.tlsClients, '--tls-clients') : 4,
    h2Conns: given.h2Conns ? num(given.h2Conns, '--h2-conns') : 4,
    h2Streams: given.h2Streams ? num(given.h2Streams, '--h2-streams') : 32,
    frontends: given.frontends ? nums(given.frontends) : q ? [1000] : [1000, 100000, 1000000],
    prefixes: given.prefixes ? nums(given.prefixes) : [1000],
    propRedisN: given.propRedisN ? num(given.propRedisN, '--prop-redis-n') : q ? 50 : 200,
    propFileN: given.propFileN ? num(given.propFileN, '--prop-file-n') : q ? 50 : 100,
    propWorkers: given.propWorkers ? nums(given.propWorkers) : [1, 2],
    propConn: given.propConn ? list(given.propConn) : ['keepalive', 'new'],
    configExtra: given.configExtra ? JSON.parse(given.configExtra) : {},
    foreignMax: given.foreignMax ? num(given.foreignMax, '--foreign-max') : 0.15,
    retries: given.retries ? num(given.retries, '--retries') : 2,
    retryBudget: given.retryBudget ? num(given.retryBudget, '--retry-budget') : 12,
    tool: given.tool ?? null,
    wrkThreads: given.wrkThreads ? num(given.wrkThreads, '--wrk-threads') : 1,
    portBase: given.portBase ? num(given.portBase, '--port-base') : 19100,
    redisPort: given.redisPort ? num(given.redisPort, '--redis-port') : 6392,
    out: given.out ?? null,
    baseline: given.baseline ?? null,
  };
  const known = new Set(['help', 'quick', 'keepWork', ...Object.keys(o), 'wsSize']);
  for (const k of Object.keys(given)) if (!known.has(k)) throw new Error(`unknown option --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} (see --help)`);
  for (const s of o.scenarios) if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (known: ${ALL_SCENARIOS.join(', ')})`);
  for (const c of o.propConn) if (!['new', 'keepalive'].includes(c)) throw new Error('--prop-conn: each mode is new or keepalive');
  if (!['ec', 'rsa'].includes(o.tlsKey)) throw new Error('--tls-key must be ec or rsa');
  if (o.tlsClients < 1 || o.h2Conns < 1 || o.h2Streams < 1) throw new Error('--tls-clients, --h2-conns and --h2-streams must be at least 1');
  if (o.tool && !['wrk', 'autocannon'].includes(o.tool)) throw new Error('--tool must be wrk or autocannon');
  if (o.reps < 1 || o.workers < 1 || o.conns < 1) throw new Error('--reps, --workers and --conns must be at least 1');
  return o;
}
