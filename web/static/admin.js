// The admin portal: the management API called from the browser with the
// session cookie and the session's CSRF token in X-CSRF-Token. The admin
// token itself never reaches this page.
'use strict';

const csrf = document.querySelector('meta[name=csrf-token]').content;

// api calls the management API; a failure throws {status, message}.
async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { 'X-CSRF-Token': csrf } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try { resp = await fetch(path, init); } catch (_) { throw { status: 0, message: '' }; }
  if (resp.status === 401) {
    // The session ended (expired, or the admin token was rotated).
    window.location.assign('/admin/');
    throw { status: 401, message: 'signed out' };
  }
  if (!resp.ok) throw await readError(resp);
  if (resp.status === 204) return null;
  return resp.json();
}

// report shows what went wrong (nothing when e is null), and notice what
// was done, each in place of the last message. A form's outcome (scope:
// 'deployment', 'event', 'key', 'team') shows under that form, where the
// user is: a line added at the top of the page would push the form from
// under their finger, and on a phone be out of sight.
function report(e, scope) {
  outcome('error', scope, e ? explain(e) : '');
}

function notice(text, scope) {
  outcome('notice', scope, text);
}

function outcome(kind, scope, text) {
  clearOutcomes();
  show((scope && $(scope + '-' + kind)) || $('admin-' + kind), text);
}

function clearOutcomes() {
  for (const p of document.querySelectorAll('.outcome')) show(p, '');
  for (const n of document.querySelectorAll('tr.row-note')) n.remove();
}

// rowOutcome shows the outcome of a row's action (Revoke, Activate,
// Deactivate) in a line under that row of table, where the user pressed:
// at the top of the page it would be out of sight with a long list
// scrolled, as on a phone. The row is found by its data-id, so a list
// drawn again since still gets it; without the row it goes to the top.
// The line takes the focus the pressed button had (the list was drawn
// again without it), so a keyboard or screen reader user is where the
// outcome is, and the page scrolls only if the line is out of sight (the
// row was the last one on the screen).
function rowOutcome(table, id, kind, text) {
  clearOutcomes();
  const tr = Array.from(table.tBodies[0].rows).find((r) => r.dataset.id === id);
  if (!tr || tr.offsetParent === null) {
    // Gone, or on a tab the user has left meanwhile.
    outcome(kind, null, text);
    return;
  }
  const cell = el('td', { colspan: tr.cells.length, class: kind, role: kind === 'error' ? 'alert' : 'status', tabindex: '-1' }, text);
  tr.after(el('tr', { class: 'row-note' }, cell));
  cell.focus({ preventScroll: true });
  cell.scrollIntoView({ block: 'nearest' });
}

// replaceRows draws rows into tbody unless they are the ones there,
// keeping a row's outcome line under its row, with the focus it had: the
// deployments' live state draws every few seconds. When that row is gone
// the outcome goes to the top of the page.
function replaceRows(tbody, rows) {
  const note = tbody.querySelector('tr.row-note');
  const drawn = Array.from(tbody.rows).filter((r) => r !== note);
  if (rows.length === drawn.length && rows.every((r, i) => drawn[i] === r)) return;
  const under = note && note.previousElementSibling ? note.previousElementSibling.dataset.id : undefined;
  const focused = !!note && note.contains(document.activeElement);
  tbody.replaceChildren(...rows);
  if (!note) return;
  const tr = rows.find((r) => r.dataset.id === under);
  if (!tr) {
    outcome(note.cells[0].className, null, note.cells[0].textContent);
    return;
  }
  tr.after(note);
  if (focused) note.cells[0].focus({ preventScroll: true });
}

// --- roles ----------------------------------------------------------------
// The portal shows only what the signed-in role may do; the API refuses
// the rest anyway (403).

let role = 'viewer';
const writers = {
  deployments: ['owner', 'operator'],
  keys: ['owner', 'operator'],
  teams: ['owner', 'operator'],
  events: ['owner', 'organiser'],
};
const may = (what) => writers[what].includes(role);

// applyRole removes every element whose data-roles leaves this role out.
function applyRole(me) {
  role = me.role;
  document.body.dataset.role = role;
  $('whoami').textContent = (me.name || me.id) + ' · ' + role;
  for (const e of Array.from(document.querySelectorAll('[data-roles]'))) {
    if (!e.dataset.roles.split(' ').includes(role)) e.remove();
  }
}

const num = (id) => Number($(id).value || 0);
const list = (id) => $(id).value.split(',').map((s) => s.trim()).filter(Boolean);

// --- deployments ----------------------------------------------------------

let deployments = [];

// loadDeployments draws the deployments and their live state, unless a
// later load started meanwhile (isLatest() false): see reload.
async function loadDeployments(isLatest) {
  const [deps, routing] = await Promise.all([api('GET', '/admin/v1/deployments'), api('GET', '/admin/v1/routing')]);
  if (!isLatest()) return;
  deployments = deps.data || [];
  const live = new Map((routing.data || []).map((s) => [s.id, s]));
  const table = $('deployments-table');
  const tbody = table.tBodies[0];
  const old = new Map(Array.from(tbody.rows).map((r) => [r.dataset.id, r]));
  const rows = deployments.map((d) => {
    const s = live.get(d.id) || { state: d.active ? 'not routed yet' : 'inactive', requests: 0, failures: 0, in_flight: 0 };
    const cells = [
      el('td', { class: 'deployment' }, el('span', { class: 'mono' }, d.id), el('span', { class: 'detail' }, d.model + ' · ' + d.class)),
      el('td', { class: 'endpoint' }, el('span', {}, d.provider), el('span', { class: 'detail mono clip', title: d.endpoint }, d.endpoint)),
      el('td', { class: 'priority' }, String(d.priority)),
      el('td', { class: 'weight' }, String(d.weight === undefined ? 1 : d.weight)),
      el('td', { class: 'limits' }, el('span', { class: 'rpm' }, d.rpm ? fmtNumber(d.rpm) + ' rpm' : 'no rpm limit'),
        el('span', { class: 'tpm detail' }, d.tpm ? fmtNumber(d.tpm) + ' tpm' : 'no tpm limit')),
      el('td', { class: 'state-cell' }, el('span', { class: 'state state-' + s.state.replace(/\W+/g, '-') }, s.state), stateDetails(s)),
      el('td', { class: 'in-flight' }, fmtNumber(s.in_flight)),
      el('td', { class: 'requests' }, fmtNumber(s.requests)),
      el('td', { class: 'failures' }, fmtNumber(s.failures)),
      el('td', { class: 'last-error error-text' }, s.last_error || '')];
    labelCells(table, [el('tr', {}, cells)]);
    const actionsKey = d.source + ':' + d.active;
    // The live state refreshes every few seconds: change the cells in
    // place and keep the buttons, so focus and a click in progress stay.
    let tr = old.get(d.id);
    if (tr && tr.dataset.actions === actionsKey) {
      cells.forEach((c, i) => { if (tr.cells[i].outerHTML !== c.outerHTML) tr.cells[i].replaceWith(c); });
      return tr;
    }
    const actions = d.source === 'store' && !may('deployments') ? []
      : d.source === 'store'
      ? [el('button', { type: 'button', class: 'small edit', 'aria-label': 'Edit: ' + d.id, onclick: () => editDeployment(latest(d)) }, 'Edit'),
        el('button', { type: 'button', class: 'small secondary', 'aria-label': (d.active ? 'Deactivate: ' : 'Activate: ') + d.id, onclick: () => setActive(d, !d.active) }, d.active ? 'Deactivate' : 'Activate')]
      : [el('span', { class: 'muted' }, 'from the config file')];
    tr = el('tr', { 'data-id': d.id }, cells, el('td', { class: 'actions' }, actions));
    tr.dataset.actions = actionsKey;
    return tr;
  });
  replaceRows(tbody, rows);
  $('routing-updated').replaceChildren('Live state at ', timeIn(Date.now(), browserZone, { timeStyle: 'medium' }, false),
    '; times in your zone, ' + browserZone + '.');
}

// probeEvery is how often the gateway probes an open circuit whose open
// period (routing.circuit_open) is over.
const probeEvery = '5 s';

// stateDetails explains a deployment's state: why it is out of rotation
// and until when, or when it will be tried again.
function stateDetails(s) {
  const at = (t) => timeIn(t, browserZone, { timeStyle: 'medium' }, false);
  const line = (...parts) => el('span', { class: 'detail' }, ...parts);
  switch (s.state) {
    case 'cooling':
      return [s.cooldown_reason ? line(s.cooldown_reason) : null, s.cooldown_until ? line('cooldown ends ', at(s.cooldown_until)) : null];
    case 'full':
      return s.full_until ? line('at its rpm/tpm limit until ', at(s.full_until)) : line('at its rpm/tpm limit');
    case 'circuit-open':
      return [line('out of rotation after failures in a row'),
        s.probe_at ? line('next probe ', at(s.probe_at))
          : line('probed every ' + probeEvery + ' once routing.circuit_open (default 30 s) is over')];
    case 'half-open':
      return line('open period over: the next request or probe decides');
    case 'not routed yet':
      return line('the router has not loaded it yet');
    default:
      return null;
  }
}

// latest is the latest listing of d: a kept row's buttons outlive the
// listing they were made from.
function latest(d) {
  return deployments.find((x) => x.id === d.id) || d;
}

function editDeployment(d) {
  $('dep-editing').value = d.id;
  $('dep-id').value = d.id;
  $('dep-id').readOnly = true;
  for (const [id, field] of [['dep-model', 'model'], ['dep-class', 'class'], ['dep-provider', 'provider'], ['dep-endpoint', 'endpoint'],
    ['dep-deployment', 'deployment'], ['dep-api-version', 'api_version'], ['dep-priority', 'priority'], ['dep-weight', 'weight'],
    ['dep-rpm', 'rpm'], ['dep-tpm', 'tpm']]) {
    $(id).value = d[field] === undefined || d[field] === null ? '' : d[field];
  }
  $('dep-api-key').value = '';
  $('dep-active').checked = d.active;
  $('deployment-form-title').textContent = 'Edit deployment ' + d.id;
  $('dep-submit').textContent = 'Save changes';
  $('dep-cancel').hidden = false;
  $('dep-model').focus();
}

function resetDeploymentForm() {
  $('deployment-form').reset();
  $('dep-editing').value = '';
  $('dep-id').readOnly = false;
  $('deployment-form-title').textContent = 'Add a deployment';
  $('dep-submit').textContent = 'Add deployment';
  $('dep-cancel').hidden = true;
}

async function saveDeployment(ev) {
  ev.preventDefault();
  const editing = $('dep-editing').value;
  const body = {
    model: $('dep-model').value.trim(), class: $('dep-class').value, provider: $('dep-provider').value,
    endpoint: $('dep-endpoint').value.trim(), deployment: $('dep-deployment').value.trim(),
    api_version: $('dep-api-version').value.trim(), priority: num('dep-priority'), weight: num('dep-weight'),
    rpm: num('dep-rpm'), tpm: num('dep-tpm'), active: $('dep-active').checked,
  };
  if ($('dep-api-key').value) body.api_key = $('dep-api-key').value;
  try {
    if (editing) {
      await api('PATCH', '/admin/v1/deployments/' + encodeURIComponent(editing), body);
      notice('Deployment ' + editing + ' saved.', 'deployment');
    } else {
      body.id = $('dep-id').value.trim();
      await api('POST', '/admin/v1/deployments', body);
      notice('Deployment ' + body.id + ' added.', 'deployment');
    }
    resetDeploymentForm();
    await reload('deployments');
  } catch (e) { report(e, 'deployment'); }
}

async function setActive(d, active) {
  const table = $('deployments-table');
  try {
    await api('PATCH', '/admin/v1/deployments/' + encodeURIComponent(d.id), { active });
    await reload('deployments');
    rowOutcome(table, d.id, 'notice', 'Deployment ' + d.id + (active ? ' activated.' : ' deactivated.'));
  } catch (e) { rowOutcome(table, d.id, 'error', explain(e)); }
}

// --- events -------------------------------------------------------------------

let selectedEvent = null;

async function loadEvents(isLatest) {
  const body = await api('GET', '/admin/v1/events');
  if (!isLatest()) return;
  const rows = (body.data || []).map((e) => el('tr', { 'data-id': e.id },
    el('td', {}, e.name), el('td', { class: 'mono' }, e.id),
    // An event's times are wall clocks of its own zone.
    el('td', { class: 'start' }, timeIn(e.start, e.time_zone)), el('td', { class: 'end' }, timeIn(e.end, e.time_zone)),
    el('td', {}, (e.max_token_cap ? e.max_token_cap + ' tokens' : 'no token cap') + ' · ' + (e.daily_request_cap ? e.daily_request_cap + '/day' : 'no daily cap')),
    el('td', {}, fmtNumber(e.attendees)), el('td', {}, e.active ? 'yes' : 'no'),
    el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'small attendees', 'aria-label': 'Attendees: ' + e.name, onclick: () => selectEvent(e) }, 'Attendees'),
      // Every row has these buttons: the label names the event for a
      // screen reader, and still starts with the word that is shown.
      el('button', { type: 'button', class: 'small report', 'aria-label': 'Report: ' + e.name, onclick: () => openReport(e) }, 'Report'),
      may('events') ? el('button', { type: 'button', class: 'small edit', 'aria-label': 'Edit: ' + e.name, onclick: () => editEvent(e) }, 'Edit') : null,
      may('events') ? el('button', { type: 'button', class: 'small secondary', 'aria-label': (e.active ? 'Deactivate: ' : 'Activate: ') + e.name, onclick: () => patchEvent(e, { active: !e.active }) }, e.active ? 'Deactivate' : 'Activate') : null)));
  fillTable($('events-table'), rows);
}

async function patchEvent(e, change) {
  const table = $('events-table');
  try {
    await api('PATCH', '/admin/v1/events/' + encodeURIComponent(e.id), change);
    await reload('events');
    rowOutcome(table, e.id, 'notice', 'Event ' + e.name + ' saved.');
  } catch (err) { rowOutcome(table, e.id, 'error', explain(err)); }
}

// wallClock turns a datetime-local value into the API's wall-clock form;
// the event's time zone gives it meaning.
function wallClock(v) {
  return v && v.length === 16 ? v + ':00' : v;
}

// zoned shows the instant t as the wall clock of the IANA zone tz:
// {date: '2026-12-01', time: '09:00'}. An unknown zone is shown as UTC.
function zoned(t, tz) {
  const opts = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: tz || 'UTC' }, opts)).formatToParts(new Date(t));
  } catch (_) {
    parts = new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: 'UTC' }, opts)).formatToParts(new Date(t));
  }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return { date: p.year + '-' + p.month + '-' + p.day, time: p.hour + ':' + p.minute };
}

// editEvent fills the event form with e. Start and end are shown as the
// wall clock in the event's zone, and are sent back only when changed: a
// datetime-local field drops seconds, and the API keeps the instants when
// only the time zone changes.
function editEvent(e) {
  $('ev-editing').value = e.id;
  for (const [id, field] of [['ev-name', 'name'], ['ev-description', 'description'], ['ev-tz', 'time_zone'],
    ['ev-max-tokens', 'max_token_cap'], ['ev-daily', 'daily_request_cap'], ['ev-org-name', 'organizer_name'],
    ['ev-org-email', 'organizer_email'], ['ev-url', 'url'], ['ev-url-text', 'url_text']]) {
    $(id).value = e[field] === undefined || e[field] === null ? '' : e[field];
  }
  for (const [id, field] of [['ev-start', 'start'], ['ev-end', 'end']]) {
    const w = zoned(e[field], e.time_zone);
    $(id).value = w.date + 'T' + w.time;
    $(id).dataset.was = $(id).value;
  }
  $('ev-models').value = (e.models || []).join(', ');
  $('ev-code').value = '';
  $('ev-code').placeholder = e.self_registration ? 'unchanged when empty' : 'none; empty keeps it off';
  $('ev-code-off').checked = false;
  $('ev-code-off-field').hidden = !e.self_registration;
  $('ev-active').checked = e.active;
  $('ev-signin').checked = !!e.signin_registration;
  $('ev-signin-domains').value = (e.signin_domains || []).join(', ');
  $('event-form-title').textContent = 'Edit event ' + e.name;
  $('ev-submit').textContent = 'Save changes';
  $('ev-cancel').hidden = false;
  $('ev-name').focus();
}

function resetEventForm() {
  $('event-form').reset();
  $('ev-editing').value = '';
  $('ev-code').placeholder = '';
  $('ev-code-off-field').hidden = true;
  $('event-form-title').textContent = 'Create an event';
  $('ev-submit').textContent = 'Create event';
  $('ev-cancel').hidden = true;
}

async function saveEvent(ev) {
  ev.preventDefault();
  const editing = $('ev-editing').value;
  const body = {
    name: $('ev-name').value.trim(), description: $('ev-description').value, time_zone: $('ev-tz').value.trim() || 'UTC',
    max_token_cap: num('ev-max-tokens'), daily_request_cap: num('ev-daily'), models: list('ev-models'),
    organizer_name: $('ev-org-name').value.trim(), organizer_email: $('ev-org-email').value.trim(),
    url: $('ev-url').value.trim(), url_text: $('ev-url-text').value.trim(), active: $('ev-active').checked,
    signin_registration: $('ev-signin').checked, signin_domains: list('ev-signin-domains'),
  };
  try {
    if (editing) {
      for (const [id, field] of [['ev-start', 'start'], ['ev-end', 'end']]) {
        if ($(id).value !== $(id).dataset.was) body[field] = wallClock($(id).value);
      }
      // An empty code keeps the one the event has; removing it is a choice.
      if ($('ev-code-off').checked) body.shared_code = '';
      else if ($('ev-code').value) body.shared_code = $('ev-code').value;
      const e = await api('PATCH', '/admin/v1/events/' + encodeURIComponent(editing), body);
      notice('Event ' + e.name + ' saved.', 'event');
      resetEventForm();
      await reload('events');
      if (reportEvent && reportEvent.id === e.id) { reportEvent = e; await loadReport(); }
      if (selectedEvent && selectedEvent.id === e.id) await selectEvent(e);
      return;
    }
    Object.assign(body, { start: wallClock($('ev-start').value), end: wallClock($('ev-end').value), shared_code: $('ev-code').value });
    const e = await api('POST', '/admin/v1/events', body);
    notice('Event ' + e.name + ' created. Its code is ' + e.id + '.' + (e.signin_registration ? ' Attendees register by signing in at ' + location.origin + '/register/' + e.id + '.' : ''), 'event');
    resetEventForm();
    await reload('events');
    await selectEvent(e);
  } catch (err) { report(err, 'event'); }
}

// attendeesSeq numbers attendee list loads: only the latest may draw, so
// a slow list of the event chosen before never shows under this one's name.
let attendeesSeq = 0;

async function selectEvent(e) {
  if (!selectedEvent || selectedEvent.id !== e.id) clearSecrets();
  selectedEvent = e;
  const seq = ++attendeesSeq;
  $('attendees-event').textContent = e.name + ' (' + e.id + ')';
  $('attendees-zone').textContent = 'Registration times in the event\'s zone, ' + inZone(e.start, e.time_zone).zone + '; hover for UTC.';
  $('attendees-card').hidden = false;
  try {
    const body = await api('GET', '/admin/v1/events/' + encodeURIComponent(e.id) + '/attendees');
    if (seq !== attendeesSeq) return;
    const rows = (body.data || []).map((a) => el('tr', {},
      el('td', {}, a.attendee), el('td', { class: 'mono' }, a.prefix + '…'), el('td', {}, a.status),
      el('td', {}, timeIn(a.created_at, e.time_zone, null, false))));
    fillTable($('attendees-table'), rows);
  } catch (err) { if (seq === attendeesSeq) report(err); }
}

async function addAttendee(ev) {
  ev.preventDefault();
  if (!selectedEvent) return;
  try {
    const a = await api('POST', '/admin/v1/events/' + encodeURIComponent(selectedEvent.id) + '/attendees', { attendee: $('attendee-name').value.trim() });
    report(null);
    $('attendee-form').reset();
    await selectEvent(selectedEvent);
    showSecret($('attendee-key'), 'Key for ' + a.attendee + ': ', a.key, ' — copy it now, it is shown only once.');
    await reload('events');
  } catch (err) { report(err); }
}

// --- event reports ------------------------------------------------------------

let reportEvent = null;
// reportSeq numbers report loads, so that a slow answer for an event no
// longer shown never overwrites the one that is.
let reportSeq = 0;

function openReport(e) {
  reportEvent = e;
  $('report-from').value = '';
  $('report-to').value = '';
  $('report-title').textContent = 'Report: ' + e.name;
  $('report-card').hidden = false;
  // Keyboard and screen-reader users land on what they asked for.
  $('report-title').focus();
  return loadReport();
}

function closeReport() {
  const id = reportEvent && reportEvent.id;
  reportEvent = null;
  reportSeq++;
  $('report-card').hidden = true;
  const back = id && document.querySelector('#events-table tr[data-id="' + CSS.escape(id) + '"] button.report');
  if (back) back.focus();
}

// loadReport reads GET /admin/v1/events/{id}/report for the range in the
// form: empty dates are the event's own start and end, and dates are days
// in the event's time zone.
async function loadReport(ev) {
  if (ev) ev.preventDefault();
  if (!reportEvent) return;
  const seq = ++reportSeq;
  const q = new URLSearchParams();
  if ($('report-from').value) q.set('from', $('report-from').value);
  if ($('report-to').value) q.set('to', $('report-to').value);
  const path = '/admin/v1/events/' + encodeURIComponent(reportEvent.id) + '/report' + (q.toString() ? '?' + q.toString() : '');
  const card = $('report-card');
  card.setAttribute('aria-busy', 'true');
  try {
    const r = await api('GET', path);
    if (seq !== reportSeq) return;
    drawReport(r);
    // A report after a save must not hide its notice: clear only an error.
    show($('admin-error'), '');
  } catch (err) {
    if (seq === reportSeq) report(err);
  } finally {
    if (seq === reportSeq) card.removeAttribute('aria-busy');
  }
}

function drawReport(r) {
  $('report-title').textContent = 'Report: ' + r.name;
  $('report-zone').textContent = 'Days in ' + r.time_zone;
  $('report-from').value = zoned(r.from, r.time_zone).date;
  // to is exclusive; a date alone as to means the end of that day.
  $('report-to').value = zoned(Date.parse(r.to) - 1, r.time_zone).date;

  const t = r.totals || {};
  const totals = $('report-totals');
  totals.replaceChildren();
  for (const [k, v] of [['Attendees registered', fmtNumber(r.attendees)], ['Active attendees', fmtNumber(t.active_attendees)],
    ['Requests', fmtNumber(t.requests)], ['Errors', fmtNumber(t.errors)], ['Tokens', fmtNumber(t.total_tokens)],
    ['Cost', '$' + Number(t.cost || 0).toFixed(4)]]) {
    totals.append(el('div', {}, el('dt', {}, k), el('dd', {}, v)));
  }

  const days = r.days || [];
  const perDay = (field, what) => days.map((d) => ({ label: d.day.slice(5), value: d[field] || 0, title: d.day + ': ' + fmtNumber(d[field]) + ' ' + what }));
  // Three charts share a row: a narrower drawing keeps their text legible.
  const size = { width: 420, height: 220 };
  barChart($('report-active'), perDay('active_attendees', 'active attendees'), Object.assign({ label: 'Active attendees per day' }, size));
  barChart($('report-requests'), perDay('requests', 'requests'), Object.assign({ label: 'Requests per day' }, size));
  barChart($('report-tokens'), perDay('total_tokens', 'tokens'), Object.assign({ label: 'Tokens per day' }, size));
  fillTable($('report-days-table'), days.map((d) => el('tr', {},
    el('td', {}, d.day), el('td', {}, fmtNumber(d.active_attendees)), el('td', {}, fmtNumber(d.requests)),
    el('td', {}, fmtNumber(d.errors)), el('td', {}, fmtNumber(d.total_tokens)))));
  fillTable($('report-models-table'), (r.models || []).map((m) => el('tr', {},
    el('td', {}, m.model || '(none)'), el('td', {}, fmtNumber(m.requests)), el('td', {}, fmtNumber(m.errors)),
    el('td', {}, fmtNumber(m.prompt_tokens)), el('td', {}, fmtNumber(m.completion_tokens)), el('td', {}, fmtNumber(m.total_tokens)),
    el('td', {}, '$' + Number(m.cost || 0).toFixed(4)))));
}

// --- keys ---------------------------------------------------------------------

async function loadKeys(isLatest) {
  const body = await api('GET', '/admin/v1/keys');
  if (!isLatest()) return;
  const rows = (body.data || []).map((k) => el('tr', { 'data-id': k.id },
    el('td', { class: 'mono' }, k.prefix + '…'), el('td', {}, k.name), el('td', {}, [k.owner, k.team, k.team_id ? 'team ' + k.team_id : ''].filter(Boolean).join(' · ')),
    el('td', {}, (k.models || []).join(', ') || 'all'),
    el('td', {}, [k.rpm ? k.rpm + ' rpm' : '', k.tpm ? k.tpm + ' tpm' : '', k.max_tokens ? k.max_tokens + ' max tokens' : ''].filter(Boolean).join(' · ') || 'none'),
    el('td', {}, k.event_id ? k.event_id + (k.attendee ? ' / ' + k.attendee : '') : ''),
    el('td', {}, k.status),
    el('td', { class: 'actions' }, k.status === 'active' && may('keys')
      ? el('button', { type: 'button', class: 'small secondary', 'aria-label': 'Revoke: ' + k.prefix + '… (' + k.name + ')', onclick: () => revokeKey(k) }, 'Revoke') : null)));
  fillTable($('keys-table'), rows);
}

async function createKey(ev) {
  ev.preventDefault();
  const body = {
    name: $('key-name').value.trim(), owner: $('key-owner').value.trim(), team: $('key-team').value.trim(),
    models: list('key-models'), rpm: num('key-rpm'), tpm: num('key-tpm'), max_tokens: num('key-max-tokens'),
  };
  if ($('key-expires').value) body.expires_at = $('key-expires').value + 'T00:00:00Z';
  try {
    const k = await api('POST', '/admin/v1/keys', body);
    $('key-form').reset();
    report(null, 'key');
    showSecret($('key-created'), 'Key ' + k.name + ': ', k.key, ' — copy it now, it is shown only once.');
    await reload('keys');
  } catch (err) { report(err, 'key'); }
}

async function revokeKey(k) {
  if (!window.confirm('Revoke key ' + k.prefix + '… (' + k.name + ')? Clients using it stop at once.')) return;
  const table = $('keys-table');
  try {
    await api('POST', '/admin/v1/keys/' + encodeURIComponent(k.id) + '/revoke');
    await reload('keys');
    rowOutcome(table, k.id, 'notice', 'Key ' + k.prefix + '… revoked.');
  } catch (err) { rowOutcome(table, k.id, 'error', explain(err)); }
}

// --- usage --------------------------------------------------------------------

// usageSeq numbers usage loads: only the latest may draw.
let usageSeq = 0;

const ranges = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };

// usageRange returns [from, to] as RFC 3339 strings.
function usageRange() {
  const r = $('usage-range').value;
  if (r === 'custom') {
    const from = new Date($('usage-from').value), to = new Date($('usage-to').value);
    if (isNaN(from) || isNaN(to)) throw { status: 400, message: 'Pick a start and an end for a custom range.' };
    if (to <= from) throw { status: 400, message: 'The end of the range is not after its start.' };
    return [from.toISOString(), to.toISOString(), (to - from) > 2 * 86400e3 ? 'day' : 'hour'];
  }
  const to = new Date(Date.now() + 1000);
  const from = new Date(to - ranges[r]);
  return [from.toISOString(), to.toISOString(), ranges[r] > 2 * 86400e3 ? 'day' : 'hour'];
}

// clearUsage empties the dashboard, so a range that cannot be shown
// never leaves the last range's numbers under its error.
function clearUsage() {
  $('usage-totals').replaceChildren();
  $('chart-requests').replaceChildren();
  $('chart-models').replaceChildren();
  $('usage-table').tBodies[0].replaceChildren();
}

async function loadUsage(ev) {
  if (ev) ev.preventDefault();
  const seq = ++usageSeq;
  let from, to, bucket;
  $('usage-zone').textContent = 'Times in your zone, ' + browserZone + '.';
  try { [from, to, bucket] = usageRange(); } catch (e) { clearUsage(); report(e); return; }
  const q = (group) => '/admin/v1/usage?' + new URLSearchParams({ from, to, group_by: group }).toString();
  $('usage-csv').href = q('model') + '&format=csv';
  try {
    const [series, models] = await Promise.all([api('GET', q(bucket)), api('GET', q('model'))]);
    if (seq !== usageSeq) return;
    const byTime = fillBuckets(series.data || [], from, to, bucket);
    const byModel = models.data || [];
    barChart($('chart-requests'), byTime.map((r) => ({ label: shortBucket(r.group, bucket), value: r.requests, title: r.group + ': ' + fmtNumber(r.requests) + ' requests, ' + fmtNumber(r.errors) + ' errors' })),
      { label: 'Requests per ' + bucket });
    barChart($('chart-models'), byModel.map((r) => ({ label: r.group || '(none)', value: r.total_tokens, title: (r.group || '(none)') + ': ' + fmtNumber(r.total_tokens) + ' tokens' })),
      { label: 'Tokens by model', horizontal: true, height: Math.max(120, 36 * byModel.length + 40) });
    const sum = (k) => byModel.reduce((a, r) => a + (r[k] || 0), 0);
    const totals = $('usage-totals');
    totals.replaceChildren();
    for (const [k, v] of [['Requests', fmtNumber(sum('requests'))], ['Errors', fmtNumber(sum('errors'))],
      ['Tokens', fmtNumber(sum('total_tokens'))], ['Cost', '$' + sum('cost').toFixed(4)]]) {
      totals.append(el('div', {}, el('dt', {}, k), el('dd', {}, v)));
    }
    fillTable($('usage-table'), byModel.map((r) => el('tr', {},
      el('td', {}, r.group || '(none)'), el('td', {}, fmtNumber(r.requests)), el('td', {}, fmtNumber(r.errors)),
      el('td', {}, fmtNumber(r.prompt_tokens)), el('td', {}, fmtNumber(r.completion_tokens)),
      el('td', {}, '$' + Number(r.cost || 0).toFixed(4)), el('td', {}, String(Math.round(r.p50_latency_ms))), el('td', {}, String(Math.round(r.p95_latency_ms))))));
    report(null);
  } catch (e) {
    if (seq !== usageSeq) return;
    clearUsage();
    report(e);
  }
}

// fillBuckets adds the hours or days without traffic, so the chart is a
// timeline of the whole range.
function fillBuckets(rows, from, to, bucket) {
  const by = new Map(rows.map((r) => [r.group, r]));
  const step = bucket === 'hour' ? 3600e3 : 86400e3;
  const out = [];
  for (let t = Math.floor(Date.parse(from) / step) * step; t < Date.parse(to) && out.length < 2000; t += step) {
    const iso = new Date(t).toISOString();
    const key = bucket === 'hour' ? iso.slice(0, 16) + 'Z' : iso.slice(0, 10);
    out.push(by.get(key) || { group: key, requests: 0, errors: 0 });
    by.delete(key);
  }
  return out.concat(Array.from(by.values()));
}

// shortBucket labels "2026-11-22T13:00Z" as "13:00" and a day as "11-22".
function shortBucket(g, bucket) {
  if (bucket === 'hour') {
    const d = new Date(g.replace(/Z$/, ':00Z'));
    return isNaN(d) ? g : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  return g.slice(5);
}

// --- audit log -------------------------------------------------------------

let auditCursor = '';

// loadAudit draws the first page of the entries the filter names, or
// with more the next page after them, unless a later load started
// meanwhile (isLatest() false): a slow page of the last filter is
// neither shown nor appended under a newer one.
async function loadAudit(isLatest, more) {
  const q = new URLSearchParams({ limit: '50' });
  for (const f of ['actor', 'resource', 'action']) {
    const v = $('audit-' + f).value.trim();
    if (v) q.set(f, v);
  }
  if (more && auditCursor) q.set('cursor', auditCursor);
  const page = await api('GET', '/admin/v1/audit?' + q);
  if (!isLatest()) return;
  auditCursor = page.next_cursor;
  $('audit-more').hidden = !auditCursor;
  const rows = page.data.map((a) => el('tr', {},
    el('td', { title: a.at }, new Date(a.at).toLocaleString()),
    el('td', {}, a.actor + (a.role ? ' (' + a.role + ')' : '')),
    el('td', { class: 'mono' }, a.address),
    el('td', {}, a.resource + ' · ' + a.action),
    el('td', { class: 'mono' }, a.resource_id),
    el('td', {}, String(a.status)),
    el('td', { class: 'mono change' }, changeOf(a))));
  const body = $('audit-table').tBodies[0];
  if (more) rows.forEach((r) => body.append(r)); else fillTable($('audit-table'), rows);
}

// changeOf shows the fields an entry's before and after differ in.
function changeOf(a) {
  if (!a.before || !a.after) return a.after ? JSON.stringify(a.after) : '';
  const keys = Object.keys(a.after).filter((k) => JSON.stringify(a.before[k]) !== JSON.stringify(a.after[k]) && k !== 'updated_at');
  return keys.map((k) => k + ': ' + JSON.stringify(a.before[k]) + ' → ' + JSON.stringify(a.after[k])).join('; ');
}

// --- wiring -------------------------------------------------------------------

const loaders = { deployments: loadDeployments, events: loadEvents, keys: loadKeys, usage: () => loadUsage(), audit: (isLatest) => loadAudit(isLatest, false) };
let current = 'deployments';
// loadSeq numbers each tab's loads, however they start (opening the tab,
// a save, the live refresh): see reload.
const loadSeq = {};

// reload loads tab name's lists again, with loader if given, else the
// tab's own. Only the latest of a tab's loads draws: loader(isLatest)
// reads the API, then draws only while isLatest() holds, so a slow answer
// never replaces a newer one's rows (the list read before a save, say,
// answering after the one read after it). Only the latest ends the
// panel's aria-busy, and only its failure is reported.
function reload(name, loader) {
  const seq = (loadSeq[name] || 0) + 1;
  loadSeq[name] = seq;
  const isLatest = () => loadSeq[name] === seq;
  const panel = $('panel-' + name);
  return Promise.resolve((loader || loaders[name])(isLatest))
    .catch((e) => { if (isLatest()) throw e; })
    .finally(() => { if (panel && isLatest()) panel.removeAttribute('aria-busy'); });
}

// load opens a tab: its panel is aria-busy until its lists have loaded,
// so a screen reader, or a test, knows when the panel has settled. Each
// create form sits above its tab's lists, so their filling in moves
// nothing the user may be about to press.
function load(name) {
  current = name;
  const panel = $('panel-' + name);
  if (panel) panel.setAttribute('aria-busy', 'true');
  reload(name).catch(report);
}

// on wires an element that the role may have removed.
function on(id, event, fn) {
  const e = $(id);
  if (e) e.addEventListener(event, fn);
}

document.addEventListener('DOMContentLoaded', async () => {
  try { applyRole(await api('GET', '/admin/v1/me')); } catch (e) { report(e); return; }
  // Leaving a tab takes a shown-once key off the screen.
  const select = setupTabs(document.querySelector('[role=tablist]'), (name) => { clearSecrets(); load(name); });
  on('deployment-form', 'submit', saveDeployment);
  on('dep-cancel', 'click', resetDeploymentForm);
  on('event-form', 'submit', saveEvent);
  on('ev-cancel', 'click', resetEventForm);
  on('report-form', 'submit', loadReport);
  on('report-close', 'click', closeReport);
  on('attendee-form', 'submit', addAttendee);
  on('key-form', 'submit', createKey);
  on('usage-form', 'submit', loadUsage);
  on('usage-range', 'change', () => {
    $('usage-custom').hidden = $('usage-range').value !== 'custom';
    if ($('usage-range').value !== 'custom') loadUsage();
  });
  on('audit-form', 'submit', (ev) => { ev.preventDefault(); reload('audit').catch(report); });
  on('audit-more', 'click', () => reload('audit', (isLatest) => loadAudit(isLatest, true)).catch(report));
  // The first tab this role has left. The tabs show only now, when they
  // are wired and pruned to the role.
  select(document.querySelector('[role=tab]').id.replace(/^tab-/, ''));
  document.querySelector('[role=tablist]').hidden = false;
  // The routing state is live: refresh it while its tab is open.
  setInterval(() => { if (current === 'deployments' && !document.hidden && $('tab-deployments')) reload('deployments').catch(() => {}); }, 5000);
});
