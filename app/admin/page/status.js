// The instance at a glance, from /status: what is wrong, the sources,
// workers, dead backends, health checks, certificates, and rates from two statuses' totals.

const STATUS_EVERY_MS = 5000;
/** Rates are taken over at least this long (an event also refreshes the status, sooner). */
const RATE_WINDOW_MS = 4000;
const CERT_WARN_DAYS = 14;
const REFRESH_AFTER_EVENT_MS = 250;

// ---- what is wrong, at a glance

function problemsOf(status) {
  const problems = [];
  const bad = (text) => problems.push({ level: 'bad', text });
  const warn = (text) => problems.push({ level: 'warn', text });
  const { instance, reload } = status;
  if (instance.draining) bad('draining: the instance is stopping');
  if (!status.loaded) bad('a worker has no routing table yet');
  const answering = status.workers.length;
  if (answering < instance.workers) bad(`${answering} of ${instance.workers} workers answering`);
  if (status.silent.length > 0) bad(`workers not answering: ${status.silent.join(', ')}`);
  if (reload !== null && reload.outcome !== 'applied') bad(`last reload ${reload.outcome}: ${reload.cause}`);
  for (const source of status.sources) {
    if (source.state !== 'ready') bad(`source ${source.name} is ${source.state}${source.lastError ? ` (${source.lastError.code})` : ''}`);
    const quarantined = source.quarantined ?? [];
    if (quarantined.length > 0) bad(`${quarantined.length} quarantined in ${source.name}: ${quarantined.map((q) => q.key).join(', ')}`);
    const certificates = source.quarantinedCertificates ?? [];
    if (certificates.length > 0) bad(`${certificates.length} certificate${certificates.length === 1 ? '' : 's'} quarantined in ${source.name}: ${certificates.map((q) => q.key).join(', ')}`);
  }
  for (const cert of status.certificates ?? []) {
    if (cert.error !== null) bad(`certificate ${cert.file}: ${cert.error}`);
    else if (cert.daysLeft < CERT_WARN_DAYS) bad(`certificate ${cert.subject} ${cert.daysLeft < 0 ? 'has expired' : `expires in ${cert.daysLeft} days`}`);
  }
  const dead = status.deadBackends?.count ?? 0;
  if (dead > 0) warn(`${dead} dead backend${dead === 1 ? '' : 's'}`);
  return problems;
}

function renderOverall(status) {
  const problems = problemsOf(status);
  const level = problems.some((p) => p.level === 'bad') ? 'bad' : problems.length > 0 ? 'warn' : 'ok';
  const overall = byId('overall');
  overall.className = `badge ${level}`;
  overall.textContent = { bad: 'PROBLEM', warn: 'WARNING', ok: 'ALL OK' }[level];
  byId('problems').replaceChildren(...problems.map((p) => el('li', { class: p.level }, p.text)));
}

function renderInstance(status) {
  const { instance, reload, table } = status;
  const facts = [
    ['pid', instance.pid],
    ['up since', new Date(instance.startedAt).toLocaleString()],
    ['workers', `${status.workers.length} / ${instance.workers}`],
    ['generation', status.probation === null ? status.generation : `${status.generation} (${status.probation} on probation)`],
    ['last reload', reload === null ? 'none' : `${reload.outcome} at ${clock(reload.at)}`],
    ['precedence', status.precedence],
    ['frontends', table === null ? '-' : table.frontends],
  ];
  byId('instance').replaceChildren(...facts.flatMap(([name, value]) => [el('dt', null, name), el('dd', { 'data-fact': name }, value)]));
}

// ---- tables

function sourceRows(source) {
  const error = source.lastError;
  const row = el(
    'tr',
    { 'data-source': source.name, class: source.state === 'ready' ? null : 'bad' },
    el('td', null, el('strong', null, source.name)),
    el('td', null, badge(source.state, source.state === 'ready' ? 'ok' : 'bad')),
    el('td', null, source.mode),
    el('td', { class: 'mono' }, source.version ?? '-'),
    el('td', null, ago(source.lastSnapshotAt)),
    el('td', { class: error ? 'error' : 'muted' }, error ? `${error.code}: ${error.message}` : 'none'),
  );
  const quarantined = source.quarantined ?? [];
  const certificates = source.quarantinedCertificates ?? [];
  if (quarantined.length === 0 && certificates.length === 0) return [row];
  const item = (q, attribute, what) =>
    el('li', { [attribute]: q.key }, el('strong', null, `${what}${q.key}`), ' ', el('span', null, q.serving === 'previous' ? '(its previous version is served)' : '(not served)'),
      el('div', { class: 'reason mono' }, q.reason));
  const items = [...quarantined.map((q) => item(q, 'data-host', '')), ...certificates.map((q) => item(q, 'data-certificate', 'certificate '))];
  return [row, el('tr', { class: 'quarantine-row' }, el('td', { colspan: 6 }, `Quarantined in ${source.name}:`, el('ul', { class: 'quarantined' }, items)))];
}

function renderWorkers(status) {
  const reference = JSON.stringify(status.workers[0]?.table.sourceVersions ?? {});
  const rows = status.workers.map((w) => {
    const versions = Object.entries(w.table.sourceVersions).map(([source, version]) => `${source} ${version}`).join(', ');
    const differs = JSON.stringify(w.table.sourceVersions) !== reference;
    return el('tr', { 'data-worker': w.worker },
      el('td', null, w.worker), el('td', null, w.pid), el('td', null, w.generation ?? '-'),
      el('td', { class: differs ? 'warn mono' : 'mono', title: 'table version; the configuration version of each source' }, `${w.table.version} · ${versions}`),
      el('td', null, w.table.frontends), el('td', null, mib(w.memory.rss)), el('td', null, w.requests), el('td', null, w.deadBackends));
  });
  for (const id of status.silent) rows.push(el('tr', { class: 'bad', 'data-worker': id }, el('td', null, id), el('td', { colspan: 7 }, 'did not answer within 2 s')));
  fill(byId('workers'), rows, 'no worker answering');
}

function renderDead(dead) {
  const marks = dead?.marks ?? [];
  const count = dead?.count ?? 0;
  byId('dead-count').textContent = count === 0 ? '' : marks.length < count ? `${count} (first ${marks.length} shown)` : String(count);
  fill(byId('dead'), marks.map((m) => el('tr', { class: 'bad', 'data-host': m.host },
    el('td', null, m.host), el('td', { class: 'mono' }, `#${m.index} ${m.url ?? '(no longer in the route)'}`),
    el('td', null, `${clock(m.until)} (in ${Math.max(0, Math.round((Date.parse(m.until) - Date.now()) / 1000))} s)`),
    el('td', null, m.source), el('td', null, m.workers.join(', ')))), 'none: every backend is live');
}

/** The active health checks: each checked backend, unhealthy ones first (as /status lists them). */
function renderHealth(health) {
  const listed = health?.listed ?? [];
  byId('health-count').textContent = health ? `${health.unhealthy} unhealthy of ${health.backends}` : '';
  const lastText = (last) => (last === null ? 'not yet' : `${last.passed ? 'passed' : 'failed'}: ${last.status ?? last.error} in ${last.ms} ms, ${ago(last.at)}`);
  fill(byId('health'), listed.map((b) => el('tr', { class: b.verdict === 'unhealthy' ? 'bad' : null, 'data-backend': b.backend },
    el('td', { class: 'mono' }, b.backend), el('td', null, `${b.host} ${b.path}`), el('td', null, b.frontends),
    el('td', null, b.checkedHere ? b.verdict : 'checked by another instance'), el('td', null, b.checkedHere ? lastText(b.last) : '-'))),
  'no backend is checked (healthCheck)');
}

/** OCSP stapling of a certificate: what handshakes get, and why not when they get nothing. */
function ocspText(ocsp) {
  if (!ocsp) return '-';
  if (ocsp.stapled) return `stapled until ${new Date(ocsp.validUntil).toLocaleString()}`;
  return ocsp.error ? `${ocsp.state}: ${ocsp.error}` : ocsp.state;
}

function renderCertificates(certificates, counts) {
  fill(byId('certificates'), (certificates ?? []).map((c) => {
    if (c.error !== null) return el('tr', { class: 'bad' }, el('td', null, c.source), el('td', { colspan: 5, class: 'error' }, `${c.file}: ${c.error}`));
    const soon = c.daysLeft < CERT_WARN_DAYS;
    return el('tr', { 'data-certificate': c.file },
      el('td', null, c.source), el('td', null, c.subject), el('td', { class: 'mono' }, c.names.join(', ') || '-'),
      el('td', null, new Date(c.notAfter).toLocaleString()), el('td', { class: soon ? 'bad days-left' : 'days-left' }, c.daysLeft),
      el('td', { class: c.ocsp?.error ? 'error ocsp' : 'ocsp' }, ocspText(c.ocsp)));
  }), 'no TLS listener');
  const bySource = Object.entries(counts ?? {});
  const total = bySource.reduce((n, [, count]) => n + count, 0);
  byId('certificate-counts').textContent = total === 0 ? '' :
    `${total} served (${bySource.map(([source, count]) => `${source}: ${count}`).join(', ')})${total > (certificates ?? []).length ? '; those expiring soonest are listed' : ''}`;
}

// ---- rates: the difference between two statuses' totals

let sample = null;
let shownRates = null;

function ratesOf(traffic, now) {
  if (!traffic) return null;
  if (sample !== null && now - sample.at < RATE_WINDOW_MS) return shownRates;
  const last = sample;
  sample = { at: now, traffic };
  if (last === null) return null;
  const seconds = (now - last.at) / 1000;
  // A worker that exits takes its counts with it: a total that went back gives no rate.
  const rate = (key) => (traffic[key] < last.traffic[key] ? null : (traffic[key] - last.traffic[key]) / seconds);
  shownRates = { requests: rate('requests'), status5xx: rate('status5xx'), backendErrors: rate('backendErrors'), retries: rate('retries') };
  return shownRates;
}

function renderRates(status) {
  const rates = ratesOf(status.traffic, Date.now());
  const shown = (value) => (value === null || value === undefined ? '…' : value.toFixed(value < 10 ? 1 : 0));
  const tile = (key, label, value, alarming) => el('div', { class: alarming ? 'tile bad' : 'tile', 'data-rate': key }, el('div', { class: 'value' }, value), el('div', { class: 'muted' }, label));
  byId('rates').replaceChildren(
    tile('requests', 'requests / s', shown(rates?.requests), false),
    tile('status5xx', '5xx / s', shown(rates?.status5xx), (rates?.status5xx ?? 0) > 0),
    tile('backendErrors', 'backend errors / s', shown(rates?.backendErrors), (rates?.backendErrors ?? 0) > 0),
    tile('retries', 'retries / s', shown(rates?.retries), false),
    tile('openConnections', 'open connections', status.limits?.openConnections ?? '-', false),
  );
}

// ---- /status, now and every few seconds

async function refreshStatus() {
  let status;
  try {
    status = await (await fetch('status', { cache: 'no-store' })).json();
  } catch (err) {
    const overall = byId('overall');
    overall.className = 'badge bad';
    overall.textContent = 'UNREACHABLE';
    byId('problems').replaceChildren(el('li', { class: 'bad' }, `the admin API did not answer: ${err.message}`));
    return;
  }
  renderOverall(status);
  renderInstance(status);
  fill(byId('sources'), status.sources.flatMap(sourceRows), 'no source answered yet');
  renderRates(status);
  renderWorkers(status);
  renderDead(status.deadBackends);
  renderHealth(status.healthChecks);
  renderCertificates(status.certificates, status.certificateCounts);
  byId('updated').textContent = `updated ${clock(Date.now())}`;
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshStatus, REFRESH_AFTER_EVENT_MS);
}

