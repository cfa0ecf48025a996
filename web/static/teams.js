// The admin portal's Teams tab: list, create and edit teams, and put keys
// in a team or take them out, through /admin/v1/teams. It uses admin.js's
// api, report, notice, num, list, loaders and reload, loaded before it.
'use strict';

let teams = [];
let selectedTeam = null;

const money = (x) => '$' + Number(x || 0).toFixed(2);

// loadTeams draws the teams, unless a later load started meanwhile
// (isLatest() false): see admin.js's reload.
async function loadTeams(isLatest) {
  const body = await api('GET', '/admin/v1/teams');
  if (!isLatest()) return;
  teams = body.data || [];
  const rows = teams.map((t) => el('tr', { 'data-id': t.id },
    el('td', {}, t.name), el('td', { class: 'mono' }, t.id),
    el('td', {}, (t.models || []).join(', ') || 'all'),
    el('td', {}, [t.rpm ? t.rpm + ' rpm' : '', t.tpm ? t.tpm + ' tpm' : '',
      t.max_parallel_requests ? t.max_parallel_requests + ' in flight' : ''].filter(Boolean).join(' · ') || 'none'),
    el('td', {}, [t.budget.daily ? money(t.budget.daily) + '/day' : '', t.budget.monthly ? money(t.budget.monthly) + '/month' : ''].filter(Boolean).join(' · ') || 'none'),
    el('td', {}, money(t.spend.day) + ' today · ' + money(t.spend.month) + ' this month'),
    el('td', {}, fmtNumber(t.keys)),
    el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'small team-keys', 'aria-label': 'Keys: ' + t.name, onclick: () => selectTeam(t) }, 'Keys'),
      may('teams') ? el('button', { type: 'button', class: 'small edit', 'aria-label': 'Edit: ' + t.name, onclick: () => editTeam(t) }, 'Edit') : null,
      may('teams') ? el('button', { type: 'button', class: 'small secondary delete', 'aria-label': 'Delete: ' + t.name, onclick: () => deleteTeam(t) }, 'Delete') : null)));
  fillTable($('teams-table'), rows);
  if (selectedTeam) {
    const again = teams.find((t) => t.id === selectedTeam.id);
    if (again) await loadTeamKeys(again); else $('team-keys-card').hidden = true;
  }
}

function editTeam(t) {
  $('team-editing').value = t.id;
  $('team-id').value = t.id;
  $('team-id').disabled = true;
  $('team-name').value = t.name;
  $('team-models').value = (t.models || []).join(', ');
  $('team-rpm').value = t.rpm;
  $('team-tpm').value = t.tpm;
  $('team-parallel').value = t.max_parallel_requests || 0;
  $('team-daily').value = t.budget.daily;
  $('team-monthly').value = t.budget.monthly;
  $('team-form-title').textContent = 'Edit team ' + t.name;
  $('team-submit').textContent = 'Save team';
  $('team-cancel').hidden = false;
  $('team-name').focus();
}

function resetTeamForm() {
  $('team-form').reset();
  $('team-editing').value = '';
  $('team-id').disabled = false;
  $('team-form-title').textContent = 'Create a team';
  $('team-submit').textContent = 'Create team';
  $('team-cancel').hidden = true;
}

async function saveTeam(ev) {
  ev.preventDefault();
  const body = {
    name: $('team-name').value.trim(), models: list('team-models'),
    rpm: num('team-rpm'), tpm: num('team-tpm'), max_parallel_requests: num('team-parallel'),
    budget: { daily: num('team-daily'), monthly: num('team-monthly') },
  };
  const editing = $('team-editing').value;
  try {
    if (editing) {
      await api('PATCH', '/admin/v1/teams/' + encodeURIComponent(editing), body);
      notice('Team ' + body.name + ' saved.', 'team');
    } else {
      if ($('team-id').value.trim()) body.id = $('team-id').value.trim();
      const t = await api('POST', '/admin/v1/teams', body);
      notice('Team ' + t.name + ' created.', 'team');
    }
    resetTeamForm();
    await reload('teams');
  } catch (err) { report(err, 'team'); }
}

async function deleteTeam(t) {
  if (!window.confirm('Delete team ' + t.name + '? Its ' + t.keys + ' keys keep working, with only their own limits.')) return;
  try {
    await api('DELETE', '/admin/v1/teams/' + encodeURIComponent(t.id));
    if (selectedTeam && selectedTeam.id === t.id) { selectedTeam = null; $('team-keys-card').hidden = true; }
    notice('Team ' + t.name + ' deleted.');
    await reload('teams');
  } catch (err) { report(err); }
}

async function selectTeam(t) {
  try {
    if (await loadTeamKeys(t)) $('team-keys-title').focus();
  } catch (err) { report(err); }
}

// teamKeysSeq numbers team key loads: only the latest may draw, so a
// slow answer for the team chosen before never shows under this one.
let teamKeysSeq = 0;

// loadTeamKeys shows a team's keys and offers the other usable keys; it
// answers whether it drew them.
async function loadTeamKeys(t) {
  selectedTeam = t;
  const seq = ++teamKeysSeq;
  const [members, all] = await Promise.all([
    api('GET', '/admin/v1/teams/' + encodeURIComponent(t.id) + '/keys'), api('GET', '/admin/v1/keys')]);
  if (seq !== teamKeysSeq) return false;
  $('team-keys-name').textContent = t.name;
  const rows = (members.data || []).map((k) => el('tr', { 'data-id': k.id },
    el('td', { class: 'mono' }, k.prefix + '…'), el('td', {}, k.name),
    el('td', {}, [k.rpm ? k.rpm + ' rpm' : '', k.tpm ? k.tpm + ' tpm' : ''].filter(Boolean).join(' · ') || 'none'),
    el('td', {}, k.status),
    el('td', { class: 'actions' },
      may('teams') ? el('button', { type: 'button', class: 'small secondary', 'aria-label': 'Remove from team: ' + k.name, onclick: () => removeTeamKey(t, k) }, 'Remove') : null)));
  fillTable($('team-keys-table'), rows);
  const others = (all.data || []).filter((k) => k.team_id !== t.id && k.status === 'active' && !k.event_id);
  const select = $('team-key-select');
  if (select) select.replaceChildren(...others.map((k) => el('option', { value: k.id },
    k.name + ' (' + k.prefix + '…)' + (k.team_id ? ' — now in ' + k.team_id : ''))));
  if ($('team-key-form')) $('team-key-form').hidden = others.length === 0;
  $('team-keys-card').hidden = false;
  return true;
}

async function addTeamKey(ev) {
  ev.preventDefault();
  const t = selectedTeam;
  const keyID = $('team-key-select').value;
  if (!t || !keyID) return;
  try {
    const k = await api('POST', '/admin/v1/teams/' + encodeURIComponent(t.id) + '/keys', { key_id: keyID });
    notice('Key ' + k.name + ' is now in team ' + t.name + '.');
    await reload('teams');
  } catch (err) { report(err); }
}

async function removeTeamKey(t, k) {
  try {
    await api('DELETE', '/admin/v1/teams/' + encodeURIComponent(t.id) + '/keys/' + encodeURIComponent(k.id));
    notice('Key ' + k.name + ' left team ' + t.name + '.');
    await reload('teams');
  } catch (err) { report(err); }
}

loaders.teams = loadTeams;

document.addEventListener('DOMContentLoaded', () => {
  $('team-form').addEventListener('submit', saveTeam);
  $('team-cancel').addEventListener('click', resetTeamForm);
  $('team-key-form').addEventListener('submit', addTeamKey);
});

// --- usage by team ------------------------------------------------------------

// teamUsageSeq numbers by-team loads: only the latest may draw.
let teamUsageSeq = 0;

// loadUsageByTeam fills the Usage tab's by-team table for the range the
// usage form shows; keys of no team are one row, "(no team)".
async function loadUsageByTeam() {
  const seq = ++teamUsageSeq;
  let from, to;
  try { [from, to] = usageRange(); } catch (_) { return; } // loadUsage reports it
  const q = new URLSearchParams({ from, to, group_by: 'team' }).toString();
  $('usage-team-csv').href = '/admin/v1/usage?' + q + '&format=csv';
  const body = await api('GET', '/admin/v1/usage?' + q);
  if (seq !== teamUsageSeq) return;
  fillTable($('usage-team-table'), (body.data || []).map((r) => el('tr', { 'data-team': r.group },
    el('td', {}, r.group || '(no team)'), el('td', {}, fmtNumber(r.requests)), el('td', {}, fmtNumber(r.errors)),
    el('td', {}, fmtNumber(r.total_tokens)), el('td', {}, '$' + Number(r.cost || 0).toFixed(4)))));
}

const loadUsageOnly = loaders.usage;
loaders.usage = () => Promise.all([loadUsageOnly(), loadUsageByTeam()]);

document.addEventListener('DOMContentLoaded', () => {
  $('usage-form').addEventListener('submit', () => { loadUsageByTeam().catch(report); });
  $('usage-range').addEventListener('change', () => {
    if ($('usage-range').value !== 'custom') loadUsageByTeam().catch(report);
  });
});
