#!/usr/bin/env node
// The HTTP load generator used when wrk is not installed: autocannon, in its
// own process (like wrk), printing one "ACJSON {...}" line in the shape of
// lib/load.js's records. autocannon is not a dependency of the project:
// `npm i -D autocannon` to use this fallback (wrk is faster and preferred).
// Usage: node autocannon-load.js '{"port":..,"host":..,"path":"/","conns":50,"seconds":10,"kind":"get|post1k|random-host|random-path","hosts":K}'

const spec = JSON.parse(process.argv[2]);
const { default: autocannon } = await import('autocannon');

const opts = {
  url: `http://127.0.0.1:${spec.port}${spec.path}`,
  connections: spec.conns,
  duration: spec.seconds,
  headers: { host: spec.host },
  timeout: 5,
};
if (spec.kind === 'post1k') {
  opts.method = 'POST';
  opts.body = 'x'.repeat(1023) + '\n';
  opts.headers['content-type'] = 'application/octet-stream';
} else if (spec.kind === 'random-host') {
  opts.requests = [{
    setupRequest: (req) => ({ ...req, headers: { ...req.headers, host: `h${Math.floor(Math.random() * spec.hosts)}.scale.test` } }),
  }];
} else if (spec.kind === 'random-path') {
  opts.requests = [{ setupRequest: (req) => ({ ...req, path: `/p${Math.floor(Math.random() * spec.hosts)}/item` }) }];
}

const r = await autocannon(opts);
const ms = (x) => Math.round(x * 1000);
process.stdout.write('ACJSON ' + JSON.stringify({
  requests: r.requests.total,
  seconds: r.duration,
  rps: r.requests.total / r.duration,
  bytes: r.throughput.total,
  p50_us: ms(r.latency.p50),
  p99_us: ms(r.latency.p99),
  max_us: ms(r.latency.max),
  non2xx: r.non2xx,
  errors: r.errors + r.timeouts,
}) + '\n');
