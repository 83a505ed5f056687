// From the raw records to the one table: medians over the undisturbed
// repetitions (all of them, flagged, when none is undisturbed), and each
// candidate's ratios to the scenario's reference, computed per repetition
// (same run, same conditions) and then the median.

import { median, minMax } from './stats.js';

const MiB = 2 ** 20;

// metric name -> (run record) -> number
const METRICS = {
  rate: (r) => r.cN.rps ?? r.cN.rate,
  mibs: (r) => (r.cN.bytes !== undefined ? r.cN.bytes / r.cN.seconds / MiB : NaN),
  p50: (r) => r.cN.p50_us / 1000,
  p99: (r) => r.cN.p99_us / 1000,
  c1p50: (r) => r.c1.p50_us / 1000,
  c1p99: (r) => r.c1.p99_us / 1000,
  rss: (r) => Math.max(r.cN.rss_peak_kb, r.c1.rss_peak_kb) / 1024,
  cpu: (r) => r.cN.cpu_us_per_req,
};

const clean = (r) => !r.cN.disturbed && !r.c1.disturbed;

function notesFor(runs, used) {
  const notes = [];
  const first = runs[0];
  if (first.K !== undefined) {
    notes.push(`ready ${median(used.map((r) => r.ready_s)).toFixed(2)} s`);
    const w = median(used.map((r) => Math.max(r.cN.rss_worker_kb, r.c1.rss_worker_kb) / 1024));
    const m = median(used.map((r) => Math.max(r.cN.rss_root_kb, r.c1.rss_root_kb) / 1024));
    const idle = median(used.map((r) => r.idle_rss_worker_kb / 1024).filter(Number.isFinite));
    if (Number.isFinite(idle) && idle > 0) notes.push(`idle worker ${idle.toFixed(0)} MiB`);
    if (Number.isFinite(w) && w > 0) notes.push(`RSS/worker ${w.toFixed(0)} MiB (master ${m.toFixed(0)})`);
  }
  const non2xx = used.reduce((a, r) => a + (r.cN.non2xx ?? 0) + (r.c1.non2xx ?? 0), 0);
  const errors = used.reduce((a, r) => a + (r.cN.errors ?? 0) + (r.c1.errors ?? 0), 0);
  if (first.cN.resumed !== undefined) {
    const res = used.reduce((a, r) => a + r.cN.resumed, 0);
    const all = used.reduce((a, r) => a + r.cN.resumed + r.cN.full, 0);
    notes.push(`resumed ${res}/${all}`);
  }
  if (Number.isFinite(first.c1.mean_us) && !Number.isFinite(first.c1.p50_us)) {
    notes.push(`c1 mean ${fmtNum(median(used.map((r) => r.c1.mean_us / 1000)))} ms`);
  }
  if (non2xx) notes.push(`non-2xx ${non2xx}`);
  if (errors) notes.push(`socket errors ${errors}`);
  if (runs.length > 1) {
    const [lo, hi] = minMax(used.map(METRICS.rate));
    notes.push(`rate ${fmtNum(lo)}-${fmtNum(hi)}`);
  }
  const disturbed = runs.filter((r) => !clean(r)).length;
  if (disturbed) {
    const worst = Math.max(...runs.map((r) => Math.max(r.cN.foreign_cores, r.c1.foreign_cores)));
    notes.push(`⚠ ${disturbed}/${runs.length} rep(s) disturbed (foreign CPU ≤ ${worst.toFixed(2)} cores), ${used === runs ? 'kept: no clean rep' : 'left out'}`);
  }
  return notes;
}

function fmtNum(x) {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** Median over reps of candidate/reference, from reps where both ran (clean ones when there are). */
function ratio(metric, cand, ref) {
  const pairs = [];
  for (const c of cand) {
    const r = ref.find((x) => x.rep === c.rep);
    if (r) pairs.push([c, r]);
  }
  const cleanPairs = pairs.filter(([c, r]) => clean(c) && clean(r));
  const use = cleanPairs.length ? cleanPairs : pairs;
  return median(use.map(([c, r]) => METRICS[metric](c) / METRICS[metric](r)));
}

// scenario -> the scenario of the same target its rate is compared with (in the notes).
const PAIRED = { h2: 'tls', 'tls-resumed': 'tls-new' };

/** Median over reps of rate(a) / rate(b), a and b runs of one target in two scenarios. */
function ratioAcross(a, b) {
  const pairs = a.map((x) => [x, b.find((y) => y.rep === x.rep)]).filter(([, y]) => y);
  const cleanPairs = pairs.filter(([x, y]) => clean(x) && clean(y));
  return median((cleanPairs.length ? cleanPairs : pairs).map(([x, y]) => METRICS.rate(x) / METRICS.rate(y)));
}

/** Rows of the table: { scenario, target, cells: {metric: text}, notes }. */
export function summarize(records) {
  const rows = [];
  const runs = records.filter((r) => r.type === 'run');
  const scenarios = [...new Set(runs.map((r) => r.scenario))];
  for (const sc of scenarios) {
    const mine = runs.filter((r) => r.scenario === sc);
    const targets = [...new Set(mine.map((r) => r.target))];
    const refName = targets.find((t) => mine.find((r) => r.target === t).role === 'reference');
    const refRuns = mine.filter((r) => r.target === refName);
    const ordered = [...targets.filter((t) => t !== refName), ...(refName ? [refName] : [])];
    for (const t of ordered) {
      const tr = mine.filter((r) => r.target === t);
      const used = tr.filter(clean).length ? tr.filter(clean) : tr;
      const cells = {};
      for (const m of Object.keys(METRICS)) {
        const v = median(used.map(METRICS[m]));
        let text = fmtNum(v);
        if (t !== refName && refRuns.length && Number.isFinite(v)) {
          const x = ratio(m, tr, refRuns);
          if (Number.isFinite(x)) text += ` (${x.toFixed(2)}x)`;
        }
        cells[m] = text;
      }
      const notes = notesFor(tr, used);
      const base = PAIRED[sc];
      if (base) {
        // The issue's targets compare scenarios of one target: h2 vs tls, tls-resumed vs tls-new (same rep).
        const x = ratioAcross(tr, runs.filter((r) => r.scenario === base && r.target === t));
        if (Number.isFinite(x)) notes.unshift(`${x.toFixed(2)}x its ${base} req/s`);
      }
      rows.push({ scenario: sc, target: t === refName ? `${t} = ref` : t, cells, notes: notes.join('; ') });
    }
    for (const f of records.filter((r) => r.type === 'error' && r.scenario === sc)) {
      rows.push({ scenario: sc, target: f.target, cells: {}, notes: `FAILED: ${f.message}` });
    }
    for (const s of targetSkips(records, sc)) rows.push(s);
  }
  const props = records.filter((r) => r.type === 'prop');
  const order = [...new Set(props.map((r) => r.scenario))];
  props.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario) || a.workers - b.workers);
  for (const p of props) {
    const notes = p.source === 'redis'
      ? [`n=${p.trials}`, `read-your-writes ${p.firstOk}/${p.trials}`, `timeouts ${p.timeouts}`]
      : [`n=${p.trials} saves`, `timeouts ${p.timeouts}`];
    if (p.aborted) notes.push(`stopped early: ${p.aborted}`);
    if (p.disturbed) notes.push(`⚠ disturbed (foreign CPU ${p.foreign_cores.toFixed(2)} cores), kept`);
    rows.push({
      scenario: p.scenario,
      target: p.target,
      cells: { p50: fmtNum(p.p50_ms ?? NaN), p99: fmtNum(p.p99_ms ?? NaN), rss: fmtNum(p.rss_peak_kb / 1024) },
      notes: notes.join('; '),
    });
  }
  const done = new Set(rows.map((r) => r.scenario));
  for (const f of records.filter((r) => r.type === 'error' && !done.has(r.scenario))) {
    rows.push({ scenario: f.scenario, target: f.target, cells: {}, notes: `FAILED: ${f.message}` });
  }
  for (const s of records.filter((r) => r.type === 'skip' && !r.target)) {
    rows.push({ scenario: s.scenario, target: '-', cells: {}, notes: `skipped: ${s.reason}` });
  }
  // Scenarios where every target was skipped (no run, no error row above).
  for (const sc of new Set(records.filter((r) => r.type === 'skip' && r.target && !done.has(r.scenario)).map((r) => r.scenario))) {
    rows.push(...targetSkips(records, sc));
  }
  return rows;
}

/** One row per target skipped in a scenario (e.g. h2 not negotiated), whatever the number of reps. */
function targetSkips(records, sc) {
  const seen = new Map();
  for (const r of records) if (r.type === 'skip' && r.target && r.scenario === sc && !seen.has(r.target)) seen.set(r.target, r.reason);
  return [...seen].map(([target, reason]) => ({ scenario: sc, target, cells: {}, notes: `skipped: ${reason}` }));
}

const COLUMNS = [
  ['scenario', 'scenario'], ['target', 'target'], ['rate', 'req/s'], ['mibs', 'MiB/s'],
  ['p50', 'p50 ms'], ['p99', 'p99 ms'], ['c1p50', 'c1 p50 ms'], ['c1p99', 'c1 p99 ms'],
  ['rss', 'RSS MiB'], ['cpu', 'CPU µs/req'], ['notes', 'notes'],
];

/** A Markdown table, padded so it also reads well in a terminal. */
export function markdownTable(rows) {
  const cell = (row, key) => (key === 'scenario' || key === 'target' || key === 'notes' ? row[key] : row.cells[key] ?? '') || '';
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...rows.map((r) => cell(r, key).length)));
  const right = (key) => !['scenario', 'target', 'notes'].includes(key);
  const line = (vals) => `| ${vals.join(' | ')} |`;
  const out = [line(COLUMNS.map(([key, title], i) => (right(key) ? title.padStart(widths[i]) : title.padEnd(widths[i]))))];
  out.push(line(COLUMNS.map(([key], i) => (right(key) ? '-'.repeat(widths[i] - 1) + ':' : ':' + '-'.repeat(widths[i] - 1)))));
  for (const r of rows) out.push(line(COLUMNS.map(([key], i) => (right(key) ? cell(r, key).padStart(widths[i]) : cell(r, key).padEnd(widths[i])))));
  return out.join('\n');
}

export const LEGEND = `req/s: requests per second at --conns connections (ws: echo round trips per second over --ws-conns sockets).
p50/p99 ms: latency at --conns connections (ws: round trip; prop-*: change -> first response served by the new route, incl. that request).
c1 p50/p99 ms: latency with 1 connection (1 socket). RSS MiB: peak resident memory of the whole process tree (master + workers).
CPU µs/req: CPU time of the whole process tree per request, at --conns connections.
(N.NNx): candidate / reference ("= ref") of the same scenario, per repetition, then the median; for req/s and MiB/s higher is better, for the others lower is better.
tls: keep-alive GETs over TLS (wrk), reference nginx with the same certificate; node-https (floor): a bare node:https server answering by itself.
tls-new / tls-resumed: connections per second, one GET each, full handshakes / resumed sessions (openssl s_time, --tls-clients side by side); reference the floor;
  no p50/p99 (s_time gives none), notes: sessions resumed, c1 mean = time per connection with 1 client. Targets: tls-new >= 0.85x floor, tls-resumed >= 2x tls-new.
h2: HTTP/2 requests per second, --h2-conns connections x --h2-streams streams (h2load), reference nginx; target: at least tls's req/s. tls: target >= 0.5x nginx.
hosts-K: reference is nginx with a catch-all server (no per-host routing). paths-K: reference is the same Switchyard, same random paths, on a host without path frontends. ws: reference is a direct connection to the echo backend.
Values are medians over repetitions; a repetition disturbed by foreign CPU (other processes + VM steal above --foreign-max) is left out when clean ones exist (⚠ in notes).`;

/** The whole Markdown report: what was measured where, the table, the legend. */
export function report(records) {
  const meta = records.find((r) => r.type === 'meta');
  const end = records.find((r) => r.type === 'end');
  const { machine: m, tools: t, opts: o } = meta;
  const tool = meta.loadTool ? `${meta.loadTool} ${t[meta.loadTool]}` : 'no load generator';
  const lines = [
    `Switchyard benchmark, ${meta.date.slice(0, 16).replace('T', ' ')} UTC — ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Linux ${m.kernel}, ` +
      `Node ${m.node}, ${tool}, nginx ${t.nginx ?? 'absent'}, redis ${t.redis ?? 'absent'}${m.commit ? `, commit ${m.commit}` : ''}.`,
    `Switchyard ${o.workers} worker(s), ${meta.fileSource ? 'vhosts file' : 'Redis'} source; ` +
      `${t.nginx ? `reference nginx ${o.refWorkers} worker(s)` : 'no nginx reference (not installed)'}; backend ${meta.backend === 'nginx' ? 'nginx static' : 'Node'}; ` +
      `${o.reps} rep(s) of ${o.duration} s at ${o.conns} connections + ${o.c1Duration} s at 1` +
      (end ? `; ${Math.round(end.wall_s)} s; retries used ${end.retries_used}/${o.retryBudget}.` : ' (interrupted).'),
  ];
  if (meta.loadTool === 'autocannon') lines.push('autocannon measures latency in whole milliseconds and is slower than wrk: it may be the bottleneck.');
  return `${lines.join('\n')}\n\n${markdownTable(summarize(records))}\n\n${LEGEND}\n`;
}
