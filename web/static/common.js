// Shared by the playground and the admin portal: a tiny DOM builder that
// only ever sets text (never HTML), accessible tabs, and one place that
// turns a gateway error into a sentence.
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
