// Shared by the playground and the admin portal: a tiny DOM builder that
// only ever sets text (never HTML), accessible tabs, times shown in a named
// zone, shown-once secrets, tables that turn into cards on a phone, and one
// place that turns a gateway error into a sentence.
'use strict';

const $ = (id) => document.getElementById(id);

// el builds an element. Children that are strings become text nodes, so
// whatever a model or an organiser wrote is shown, never run.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function show(node, text) {
  node.textContent = text || '';
  node.hidden = !text;
}

// setupTabs wires a WAI-ARIA tab list: click or arrow keys switch panels.
function setupTabs(list, onChange) {
  const tabs = Array.from(list.querySelectorAll('[role=tab]'));
  const select = (tab, focus) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    if (onChange) onChange(tab.id.replace(/^tab-/, ''));
  };
  for (const t of tabs) {
    t.addEventListener('click', () => select(t, false));
    t.addEventListener('keydown', (ev) => {
      const i = tabs.indexOf(t);
      let next = null;
      if (ev.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
      if (ev.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
      if (ev.key === 'Home') next = tabs[0];
      if (ev.key === 'End') next = tabs[tabs.length - 1];
      if (next) { ev.preventDefault(); select(next, true); }
    });
  }
  return (name) => select($('tab-' + name), false);
}

// readError reads an OpenAI-shaped error body, whatever came back.
async function readError(resp) {
  let message = '', code = '';
  try {
    const body = await resp.json();
    const e = body.error || {};
    message = typeof e === 'string' ? e : (e.message || body.detail || '');
    code = e.code || '';
  } catch (_) { /* not JSON */ }
  return { status: resp.status, message, code, retryAfter: retryAfter(resp.headers) };
}

// retryAfter is the wait the gateway asked for, in seconds, or null.
function retryAfter(headers) {
  const ms = headers.get('retry-after-ms');
  if (ms && !isNaN(Number(ms))) return Math.ceil(Number(ms) / 1000);
  const v = headers.get('retry-after');
  if (!v) return null;
  if (!isNaN(Number(v))) return Math.max(0, Math.ceil(Number(v)));
  const at = Date.parse(v);
  return isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

// explain turns a gateway error into what the user should know and do.
function explain(e) {
  let said = e.message ? ' ' + e.message.trim() : '';
  if (said && !/[.!?]$/.test(said)) said += '.';
  switch (true) {
    case e.status === 0:
      return 'Could not reach the gateway. Check your connection and try again.';
    case e.status === 401:
      return 'Your key was not accepted (401).' + said + ' Sign out and sign in with a valid key.';
    case e.status === 403:
      if (/event/i.test(e.message) || /event/i.test(e.code)) return 'Your event does not allow this right now (403).' + said;
      return 'Not allowed (403).' + said;
    case e.status === 404:
      return 'Not found (404).' + said;
    case e.status === 413:
      return 'The request is too large (413). Send a shorter conversation.';
    case e.status === 429: {
      let when = ' Wait a little and try again.';
      if (e.retryAfter !== null && e.retryAfter !== undefined) {
        const at = new Date(Date.now() + e.retryAfter * 1000);
        when = ' Try again in ' + e.retryAfter + ' s (at ' + at.toLocaleTimeString() + ').';
      }
      return 'Rate limited (429).' + said + when;
    }
    case e.status === 400:
      return 'The request was refused (400).' + said;
    case e.status >= 500:
      return 'The gateway or the model failed (' + e.status + ').' + said + ' Try again.';
    default:
      return 'Error ' + e.status + '.' + said;
  }
}

function fmtNumber(n) {
  return Number(n || 0).toLocaleString();
}

// --- times --------------------------------------------------------------------

// browserZone is the IANA zone the browser runs in.
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

// inZone formats the instant t as a date and time in the IANA zone tz, in
// the reader's language. An unknown zone falls back to UTC, and says so.
function inZone(t, tz, opts) {
  const o = opts || { dateStyle: 'medium', timeStyle: 'short' };
  try {
    return { text: new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: tz }, o)).format(new Date(t)), zone: tz };
  } catch (_) {
    return { text: new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: 'UTC' }, o)).format(new Date(t)), zone: 'UTC' };
  }
}

// utcText is t as "2026-12-01 03:30 UTC", what a time shows on hover.
function utcText(t) {
  const d = new Date(t);
  return isNaN(d) ? '' : d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

// timeIn is a <time> element showing t in zone tz with the zone named
// (unless named is false, when a heading names it) and UTC on hover.
function timeIn(t, tz, opts, named) {
  const f = inZone(t, tz, opts);
  const d = new Date(t);
  return el('time', { datetime: isNaN(d) ? null : d.toISOString(), title: utcText(t) },
    named === false ? f.text : f.text + ' (' + f.zone + ')');
}

// --- shown-once secrets ---------------------------------------------------------

// showSecret fills a banner with a sentence, the secret and a copy button.
// Banners are cleared by clearSecrets when their tab is left, so a key
// shown once is not left on screen for whoever looks next.
function showSecret(banner, before, secret, after) {
  const value = el('code', { class: 'secret-value' }, secret);
  const copy = el('button', { type: 'button', class: 'small secondary copy-secret' }, 'Copy');
  copy.addEventListener('click', async () => copied(copy, await copyText(secret)));
  banner.replaceChildren(el('span', {}, before, value, after || ''), ' ', copy);
  banner.classList.add('secret');
  banner.hidden = false;
}

function clearSecrets() {
  for (const b of document.querySelectorAll('.secret')) {
    b.replaceChildren();
    b.hidden = true;
    b.classList.remove('secret');
  }
}

// copyText puts text on the clipboard, falling back to a selection and
// the copy command where the Clipboard API is refused.
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return true; } catch (_) { /* fall back */ }
  }
  const area = el('textarea', { class: 'visually-hidden', 'aria-hidden': 'true', tabindex: '-1' });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
  area.remove();
  return ok;
}

// copied says on a copy button, for a moment, whether it worked.
function copied(button, ok) {
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  button.textContent = ok ? 'Copied' : 'Copy failed';
  setTimeout(() => { button.textContent = label; }, 2000);
}

// --- tables -----------------------------------------------------------------------

// labelCells names each cell of a row after its column, which a phone
// shows beside the value when the table turns into cards.
function labelCells(table, rows) {
  const names = Array.from(table.tHead.rows[0].cells).map((th) => th.textContent.trim());
  for (const tr of rows) {
    Array.from(tr.cells).forEach((td, i) => { if (names[i]) td.dataset.label = names[i]; });
  }
  return rows;
}

// fillTable replaces a table's rows.
function fillTable(table, rows) {
  table.tBodies[0].replaceChildren(...labelCells(table, rows));
}
