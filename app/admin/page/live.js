// The host lookup (what `switchyard explain` says) and the configuration
// events as they happen (/events/stream); then the page starts.

const EVENTS_SHOWN = 200;

// ---- host lookup: what `switchyard explain` says

function routeView(status, body) {
  if (status === 400) return [el('p', { class: 'error' }, body.message ?? 'not a host name')];
  if (status === 404) return [el('p', { class: 'error' }, `${body.host}: unknown host: no exact, wildcard or catch-all frontend matches; the proxy answers 400`)];
  if (status !== 200) return [el('p', { class: 'error' }, `the admin API answered ${status}: ${body.message ?? body.error ?? ''}`)];
  const { host, route } = body;
  const rule = route.rule === 'exact' ? 'the exact rule' : `the ${route.rule} rule "${route.key}"`;
  const options = Object.entries(route.options).map(([name, value]) => `${name}: ${value}`).join(', ');
  const stateOf = (b) => (!b.valid ? ['invalid URL (never used)', 'bad'] : b.dead ? ['dead (no traffic until the mark expires)', 'bad'] : ['live', 'ok']);
  const rows = route.backends.map((b) => {
    const [text, level] = stateOf(b);
    return el('tr', { 'data-backend': b.index }, el('td', null, b.index), el('td', { class: 'mono' }, b.url), el('td', null, badge(text, level)));
  });
  const live = route.backends.filter((b) => b.valid && !b.dead).length;
  return [
    el('p', { 'data-route': route.key }, el('strong', null, host), ` is served by ${rule} from the `, el('strong', null, route.source), ' source'),
    el('p', null, 'id: ', el('code', null, route.id), options ? ` · ${options}` : ''),
    el('table', null, el('thead', null, el('tr', null, el('th', null, '#'), el('th', null, 'backend'), el('th', null, 'state'))), el('tbody', null, rows)),
    live === 0 ? el('p', { class: 'error' }, 'no live backend: the proxy answers 502') : null,
  ];
}

async function lookUp(host) {
  const out = byId('lookup-result');
  out.replaceChildren(el('p', { class: 'muted' }, `looking up ${host}…`));
  try {
    const res = await fetch(`route?host=${encodeURIComponent(host)}`, { cache: 'no-store' });
    out.replaceChildren(...routeView(res.status, await res.json()).filter((part) => part !== null));
  } catch (err) {
    out.replaceChildren(el('p', { class: 'error' }, `lookup failed: ${err.message}`));
  }
}

// ---- configuration events, as they happen

function summaryOf(event) {
  switch (event.type) {
    case 'frontend-set': return `${event.frontend.key} → ${event.frontend.backends.join(', ') || '(no backend)'}${event.frontend.id !== event.frontend.key ? ` (id ${event.frontend.id})` : ''}`;
    case 'frontend-removed': return `${event.key} removed`;
    case 'backend-dead': return `${event.mark.host} backend #${event.mark.index} dead until ${clock(event.mark.until)}`;
    case 'backend-alive': return `${event.host} backend #${event.index} alive again`;
    case 'snapshot': return `${event.frontends} frontends, ${event.dead} dead marks`;
    case 'source-error': return `${event.error.code}: ${event.error.message}`;
    case 'source-recovered': return 'recovered';
    default: return JSON.stringify(event);
  }
}

function showEvent(item) {
  const list = byId('events');
  list.prepend(item);
  while (list.children.length > EVENTS_SHOWN) list.lastElementChild.remove();
}

function addEvent(event) {
  const recent = Date.now() - Date.parse(event.at) < 10_000;
  const level = event.type === 'source-error' ? 'error' : '';
  showEvent(el('li', { class: `${level}${recent ? ' fresh' : ''}`, 'data-seq': event.seq, 'data-type': event.type },
    el('span', { class: 'muted' }, clock(event.at)), el('span', { class: 'mono' }, `#${event.seq}`),
    el('span', null, event.source), el('strong', null, event.type), el('span', { class: 'mono' }, summaryOf(event))));
}

function addResync(data) {
  const why = data.reason === 'worker-changed' ? `now following worker ${data.worker} (its own numbering, at #${data.seq})` : `events were missed; the status is re-read (at #${data.seq})`;
  showEvent(el('li', { class: 'resync', 'data-type': 'resync' }, `${clock(Date.now())} · ${why}`));
}

function streamState(text, level) {
  const state = byId('stream-state');
  state.className = `badge ${level}`;
  state.textContent = text;
}

function followEvents() {
  const stream = new EventSource('events/stream');
  stream.onopen = () => streamState('live', 'ok');
  stream.onmessage = (message) => {
    addEvent(JSON.parse(message.data));
    refreshSoon();
  };
  stream.addEventListener('resync', (message) => {
    addResync(JSON.parse(message.data));
    refreshSoon();
  });
  stream.onerror = () => {
    if (stream.readyState !== EventSource.CLOSED) return streamState('reconnecting', 'warn');
    // Closed for good (an answer that was not a stream): start over a little later.
    streamState('disconnected', 'bad');
    setTimeout(followEvents, STATUS_EVERY_MS);
  };
}

byId('lookup').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const host = byId('lookup-host').value.trim();
  if (host !== '') void lookUp(host);
});
void refreshStatus();
setInterval(refreshStatus, STATUS_EVERY_MS);
followEvents();
