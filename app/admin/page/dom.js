// The status page's scripts (dom.js, status.js, live.js, in that order) are
// served as one inline script under a Content-Security-Policy that allows it
// alone, by its hash. They read the admin API of their own origin: /status
// every few seconds, /route for the lookup, /events/stream for the events
// (as relative URLs: the page also works behind a proxy that adds a prefix).
// Host names, ids and errors come from configuration and may be hostile: they
// are only ever inserted as text nodes (el() below), never parsed as markup.
'use strict';

const byId = (id) => document.getElementById(id);

/** An element with attributes (names from this script only) and children; strings become text nodes. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function fill(table, rows, empty) {
  const columns = table.tHead.rows[0].cells.length;
  table.tBodies[0].replaceChildren(...(rows.length > 0 ? rows : [el('tr', null, el('td', { colspan: columns, class: 'muted' }, empty))]));
}

const badge = (text, level) => el('span', { class: `badge ${level}` }, text);
const clock = (time) => new Date(time).toLocaleTimeString(undefined, { hour12: false });
const mib = (bytes) => `${(bytes / 1048576).toFixed(0)} MiB`;

function ago(time) {
  if (time === null || time === undefined) return 'never';
  const seconds = Math.max(0, Math.round((Date.now() - new Date(time).getTime()) / 1000));
  return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}

