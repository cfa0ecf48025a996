// The playground: signs in with a client or attendee key (kept in
// sessionStorage for this tab, never in a URL), then talks to the
// gateway's own OpenAI-style routes. Chat answers stream over SSE read
// from fetch's ReadableStream and render as markdown as they arrive; the
// conversation and its settings stay in the tab's sessionStorage, so a
// reload keeps them and signing out forgets them.
'use strict';

const KEY = 'spillway.key';
const CHAT = 'spillway.chat';
const DEFAULT_MAX_TOKENS = 4096;
// maxImport bounds an imported chat file.
const maxImport = 1 << 20;
const state = {
  key: sessionStorage.getItem(KEY) || '',
  models: { chat: [], images: [], embeddings: [] },
  // history is the conversation without the system message:
  // [{role, content, stats?, outcome?}].
  history: [],
  controller: null, // the AbortController of the answer in flight
};

function headers() {
  return { 'Content-Type': 'application/json', 'api-key': state.key };
}

// post sends a JSON request to the gateway; a network failure reads as
// status 0.
async function post(path, body, signal) {
  try {
    return await fetch(path, { method: 'POST', headers: headers(), body: JSON.stringify(body), signal, credentials: 'omit', cache: 'no-store' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    return { ok: false, status: 0, headers: new Headers(), json: async () => ({}) };
  }
}

// --- signing in ---------------------------------------------------------

// classes maps the gateway's class names to the playground's tabs.
const classes = { 'openai-chat': 'chat', 'openai-images': 'images', 'openai-embeddings': 'embeddings' };

// loadAccess asks the gateway what this key may do: the event and its
// caps from /api/v1/eventinfo, or, where that route is missing, the
// model list.
async function loadAccess() {
  let resp = await fetch('/api/v1/eventinfo', { method: 'POST', headers: headers(), body: '{}', credentials: 'omit' }).catch(() => null);
  let info = null;
  if (resp && resp.ok) {
    info = await resp.json();
  } else if (resp && resp.status !== 404 && resp.status !== 405) {
    throw await readError(resp);
  }
  // Without the route (an older gateway) the model list decides.
  const models = { chat: [], images: [], embeddings: [] };
  if (info && info.capabilities) {
    for (const [cls, list] of Object.entries(info.capabilities)) {
      const tab = classes[cls];
      if (tab) models[tab].push(...(list || []));
    }
  } else {
    resp = await fetch('/v1/models', { headers: headers(), credentials: 'omit' }).catch(() => null);
    if (!resp) throw { status: 0 };
    if (!resp.ok) throw await readError(resp);
    const list = (await resp.json()).data || [];
    const allowed = info && info.models && info.models.length ? new Set(info.models) : null;
    for (const m of list) {
      if (allowed && !allowed.has(m.id)) continue;
      const id = m.id;
      if (/dall-e|image/i.test(id)) models.images.push(id);
      else if (/embed/i.test(id)) models.embeddings.push(id);
      else if (!/instruct|search/i.test(id)) models.chat.push(id);
    }
  }
  return { info: info || {}, models };
}

async function signIn(key) {
  state.key = key;
  let access;
  try {
    access = await loadAccess();
  } catch (e) {
    state.key = '';
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(CHAT);
    if (e.status === 401) show($('signin-error'), 'That key was not accepted (401). Check it and try again.');
    else show($('signin-error'), explain(e.status === undefined ? { status: 0 } : e));
    $('signin').hidden = false;
    $('workspace').hidden = true;
    return;
  }
  sessionStorage.setItem(KEY, key);
  $('key').value = ''; // kept in the tab's storage, not in a hidden form
  state.models = access.models;
  show($('signin-error'), '');
  $('signin').hidden = true;
  $('workspace').hidden = false;
  $('signout').hidden = false;
  $('whoami').textContent = 'Signed in with ' + key.slice(0, 7) + '…';
  fillModels('chat-model', access.models.chat);
  fillModels('images-model', access.models.images);
  fillModels('embeddings-model', access.models.embeddings);
  $('tab-images').hidden = access.models.images.length === 0;
  $('tab-embeddings').hidden = access.models.embeddings.length === 0;
  applyCaps(access.info);
  restoreChat();
  await showEvent(access.info);
  $('prompt').focus();
}

function fillModels(id, list) {
  const sel = $(id);
  sel.replaceChildren(...list.map((m) => el('option', { value: m }, m)));
  if (list.length === 0) sel.append(el('option', { value: '' }, 'no model available to this key'));
}

// applyCaps bounds the max-tokens slider by the key's or the event's cap.
function applyCaps(info) {
  const cap = Number(info.max_token_cap || info.max_tokens || 0);
  const slider = $('max-tokens');
  slider.max = String(cap > 0 ? cap : DEFAULT_MAX_TOKENS);
  slider.value = String(Math.min(Number(slider.value) || 800, Number(slider.max)));
  updateOutputs();
}

async function showEvent(info) {
  const card = $('event');
  if (!info.event_id && !info.name) { card.hidden = true; return; }
  $('event-name').textContent = info.name || info.event_id;
  const desc = $('event-description');
  desc.replaceChildren();
  if (info.description) {
    // Rendered by the server with raw HTML shown as text and dangerous
    // links dropped; the page's CSP forbids inline scripts besides.
    const resp = await fetch('/ui/markdown', { method: 'POST', headers: { 'Content-Type': 'text/markdown' }, body: info.description });
    if (resp.ok) {
      desc.innerHTML = await resp.text();
      nestHeadings(desc, 2); // under the event's name
    } else desc.textContent = info.description;
  }
  const facts = $('event-facts');
  facts.replaceChildren();
  const fact = (k, ...v) => { if (v.length && v[0]) facts.append(el('dt', {}, k), el('dd', {}, ...v)); };
  // The event's times are wall clocks of its own zone, wherever the
  // browser is: shown there, the zone named, UTC on hover.
  const tz = info.time_zone || 'UTC';
  const opts = { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' };
  if (info.start && info.end) {
    const zone = inZone(info.start, tz).zone;
    fact('When', timeIn(info.start, tz, opts, false), ' – ', timeIn(info.end, tz, opts, false), ' (' + zone + ')');
  }
  if (info.max_token_cap) fact('Max tokens per request', fmtNumber(info.max_token_cap));
  if (info.daily_request_cap) fact('Requests per day', fmtNumber(info.daily_request_cap) + ' (the count restarts at midnight UTC)');
  if (info.organizer_name || info.organizer_email) fact('Organiser', [info.organizer_name, info.organizer_email].filter(Boolean).join(' · '));
  if (info.event_url && /^https?:\/\//i.test(info.event_url)) {
    fact('More', el('a', { href: info.event_url, rel: 'noopener noreferrer', target: '_blank' }, info.event_url_text || info.event_url));
  }
  card.hidden = false;
}

// signOut forgets the key and resets everything the last user saw or set:
// conversation, errors, settings, results, the event, secrets.
function signOut() {
  if (state.controller) state.controller.abort();
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(CHAT);
  state.key = '';
  state.history = [];
  state.models = { chat: [], images: [], embeddings: [] };
  clearSecrets();
  $('max-tokens').max = String(DEFAULT_MAX_TOKENS);
  for (const id of ['signin-form', 'register-form', 'setup-form', 'chat-form', 'images-form', 'embeddings-form']) $(id).reset();
  for (const id of ['chat-model', 'images-model', 'embeddings-model', 'messages', 'images-result', 'embeddings-result',
    'event-name', 'event-description', 'event-facts']) $(id).replaceChildren();
  for (const id of ['signin-error', 'register-result', 'workspace-notice', 'chat-error', 'images-error', 'embeddings-error']) show($(id), '');
  $('register').open = false;
  $('event').hidden = true;
  if ($('code-dialog').open) $('code-dialog').close();
  selectTab('chat');
  $('tab-images').hidden = false;
  $('tab-embeddings').hidden = false;
  setSetupOpen(false);
  updateOutputs();
  setBusy(false);
  $('workspace').hidden = true;
  $('signin').hidden = false;
  $('signout').hidden = true;
  $('whoami').textContent = '';
  $('key').focus();
}

async function register(ev) {
  ev.preventDefault();
  const eventID = $('reg-event').value.trim();
  const out = $('register-result');
  const resp = await fetch('/api/v1/attendee/event/' + encodeURIComponent(eventID) + '/register', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'omit',
    body: JSON.stringify({ shared_code: $('reg-code').value, attendee: $('reg-attendee').value.trim() }),
  }).catch(() => null);
  if (!resp || !resp.ok) {
    out.className = 'error';
    show(out, resp ? explain(await readError(resp)) : explain({ status: 0 }));
    return;
  }
  const body = await resp.json();
  show(out, '');
  await signIn(body.api_key);
  showSecret($('workspace-notice'), 'Registered as ' + body.attendee + '. Your key is ', body.api_key, ' — keep it to sign in again later; it is not shown again.');
}

// --- settings -------------------------------------------------------------

const outputs = ['max-tokens', 'temperature', 'top-p', 'frequency-penalty', 'presence-penalty', 'past-messages'];

function updateOutputs() {
  for (const id of outputs) $(id + '-out').textContent = $(id).value;
  const responses = $('use-responses').checked;
  // The Responses API has no stop sequences and no penalties.
  for (const id of ['stop', 'frequency-penalty', 'presence-penalty']) $(id).disabled = responses;
  const s = settings();
  $('setup-summary').textContent = [s.model || 'no model', fmtNumber(s.maxTokens) + ' max tokens', 'temperature ' + s.temperature,
    responses ? 'Responses API' : ''].filter(Boolean).join(' · ');
}

// settings reads the setup form.
function settings() {
  return {
    model: $('chat-model').value,
    system: $('system').value,
    maxTokens: Number($('max-tokens').value),
    temperature: Number($('temperature').value),
    topP: Number($('top-p').value),
    frequencyPenalty: Number($('frequency-penalty').value),
    presencePenalty: Number($('presence-penalty').value),
    pastMessages: Number($('past-messages').value),
    stop: $('stop').value.split(',').map((s) => s.trim()).filter(Boolean).slice(0, 4),
    responses: $('use-responses').checked,
  };
}

// applySettings sets the form from saved or imported settings, keeping
// what is missing or not allowed (a model this key may not use).
function applySettings(s) {
  if (!s || typeof s !== 'object') return;
  if (typeof s.model === 'string' && state.models.chat.includes(s.model)) $('chat-model').value = s.model;
  if (typeof s.system === 'string') $('system').value = s.system;
  for (const [id, field] of [['max-tokens', 'maxTokens'], ['temperature', 'temperature'], ['top-p', 'topP'],
    ['frequency-penalty', 'frequencyPenalty'], ['presence-penalty', 'presencePenalty'], ['past-messages', 'pastMessages']]) {
    if (typeof s[field] === 'number' && isFinite(s[field])) $(id).value = String(s[field]); // a range clamps it
  }
  if (Array.isArray(s.stop)) $('stop').value = s.stop.filter((x) => typeof x === 'string').slice(0, 4).join(', ');
  if (typeof s.responses === 'boolean') $('use-responses').checked = s.responses;
  updateOutputs();
}

// setSetupOpen shows or hides the settings on a phone, where they sit
// folded above the conversation; a wide screen always shows them.
function setSetupOpen(open) {
  $('setup').classList.toggle('collapsed', !open);
  $('setup-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
  $('setup-toggle').textContent = open ? 'Hide settings' : 'Show settings';
}

// --- the conversation, kept for the tab -------------------------------------

// chatOwner tells whose conversation a saved one is, so another key
// signed in to the tab never finds it.
function chatOwner() {
  return state.key.slice(0, 16);
}

function saveChat() {
  try {
    sessionStorage.setItem(CHAT, JSON.stringify({ owner: chatOwner(), settings: settings(), history: state.history }));
  } catch (_) { /* storage full or refused: the chat still works */ }
}

function restoreChat() {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(CHAT) || 'null'); } catch (_) { saved = null; }
  state.history = [];
  $('messages').replaceChildren();
  if (!saved || saved.owner !== chatOwner()) return;
  applySettings(saved.settings);
  loadHistory(saved.history);
}

// loadHistory shows a conversation read from storage or a file; only
// user and assistant messages with text are taken.
function loadHistory(list) {
  state.history = [];
  $('messages').replaceChildren();
  for (const m of Array.isArray(list) ? list : []) {
    if (!m || (m.role !== 'user' && m.role !== 'assistant') || typeof m.content !== 'string') continue;
    const entry = { role: m.role, content: m.content };
    if (typeof m.stats === 'string') entry.stats = m.stats;
    if (typeof m.outcome === 'string') entry.outcome = m.outcome;
    state.history.push(entry);
    const bubble = addMessage(entry.role, entry.content);
    if (entry.outcome) bubble.li.dataset.state = entry.outcome;
    if (entry.stats) bubble.li.append(el('div', { class: 'stats' }, entry.stats));
  }
  setBusy(false);
}

// --- chat -----------------------------------------------------------------

function addMessage(role, text) {
  const body = el('div', { class: role === 'assistant' ? 'content markdown' : 'content' });
  if (role === 'assistant') renderAnswer(body, text);
  else body.textContent = text;
  const li = el('li', { class: 'message ' + role }, el('div', { class: 'role' }, role === 'user' ? 'You' : 'Assistant'), body);
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
  return { li, body };
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop-btn').hidden = !busy;
  $('regenerate').disabled = busy || state.history.length === 0;
}

// window keeps the last message and the "past messages included" before it.
function windowed(history, past) {
  if (history.length === 0) return [];
  return history.slice(0, -1).slice(-past).concat(history.slice(-1));
}

// chatRequest is the request the settings make of a conversation:
// {api: 'chat' or 'responses', body}. It is what complete() sends and
// what "View code" shows.
function chatRequest(history) {
  const s = settings();
  const messages = windowed(history, s.pastMessages).map((m) => ({ role: m.role, content: m.content }));
  const body = { model: s.model };
  if (s.responses) {
    // The Responses API takes the system message as instructions and
    // caps max_output_tokens; it keeps nothing here (store: false), the
    // history is sent each time as with chat.
    if (s.system) body.instructions = s.system;
    Object.assign(body, { input: messages, max_output_tokens: s.maxTokens, temperature: s.temperature, top_p: s.topP, store: false, stream: true });
    return { api: 'responses', body };
  }
  body.messages = (s.system ? [{ role: 'system', content: s.system }] : []).concat(messages);
  Object.assign(body, {
    max_tokens: s.maxTokens, temperature: s.temperature, top_p: s.topP,
    frequency_penalty: s.frequencyPenalty, presence_penalty: s.presencePenalty,
  });
  if (s.stop.length) body.stop = s.stop;
  Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  return { api: 'chat', body };
}

// complete asks for the next assistant message of state.history and
// streams it into a new bubble, rendered as markdown as it grows.
async function complete() {
  show($('chat-error'), '');
  const req = chatRequest(state.history);
  const responses = req.api === 'responses';
  const bubble = addMessage('assistant', '');
  const render = answerRenderer(bubble.body);
  bubble.li.classList.add('streaming');
  bubble.li.setAttribute('aria-busy', 'true');
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  const t0 = performance.now();
  let firstToken = null, text = '', usage = null, outcome = 'done';
  try {
    const resp = await post(responses ? '/v1/responses' : '/v1/chat/completions', req.body, controller.signal);
    if (!resp.ok) {
      const e = await readError(resp);
      bubble.li.remove();
      show($('chat-error'), explain(e));
      return;
    }
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
        const event = buf.slice(0, cut);
        buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
        for (const line of event.split(/\r?\n/)) {
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') continue;
          let chunk;
          try { chunk = JSON.parse(data); } catch (_) { continue; }
          if (chunk.error) throw { status: 500, message: chunk.error.message || '' };
          if (chunk.type === 'error' || chunk.type === 'response.failed') {
            throw { status: 500, message: chunk.message || (chunk.response && chunk.response.error && chunk.response.error.message) || '' };
          }
          if (chunk.usage) usage = tokenCounts(chunk.usage);
          if (chunk.type === 'response.completed' && chunk.response && chunk.response.usage) usage = tokenCounts(chunk.response.usage);
          const delta = responses
            ? (chunk.type === 'response.output_text.delta' ? chunk.delta : '')
            : (chunk.choices && chunk.choices[0] && chunk.choices[0].delta && chunk.choices[0].delta.content);
          if (delta) {
            if (firstToken === null) firstToken = performance.now() - t0;
            text += delta;
            render.update(text);
          }
        }
      }
    }
  } catch (err) {
    if (err && err.name === 'AbortError') outcome = 'stopped';
    else if (err && err.status !== undefined) { outcome = 'failed'; show($('chat-error'), explain(err)); }
    else { outcome = 'failed'; show($('chat-error'), 'The answer was cut off: the connection to the gateway broke. Regenerate to try again.'); }
  } finally {
    if (state.controller === controller) state.controller = null;
    bubble.li.classList.remove('streaming');
    bubble.li.removeAttribute('aria-busy');
    setBusy(false);
  }
  if (!bubble.li.isConnected) { setBusy(false); return; }
  render.finish(text);
  const total = performance.now() - t0;
  const stats = [];
  if (usage) {
    stats.push(fmtNumber(usage.prompt) + ' prompt tokens', fmtNumber(usage.completion) + ' completion tokens');
    if (usage.reasoning) stats.push(fmtNumber(usage.reasoning) + ' reasoning tokens');
  }
  if (firstToken !== null) stats.push('first token ' + Math.round(firstToken) + ' ms');
  stats.push('total ' + Math.round(total) + ' ms');
  if (outcome === 'stopped') stats.push('stopped');
  state.history.push({ role: 'assistant', content: text, stats: stats.join(' · '), outcome });
  bubble.li.dataset.state = outcome;
  bubble.li.append(el('div', { class: 'stats' }, stats.join(' · ')));
  saveChat();
  setBusy(false);
}

// tokenCounts reads chat's usage (prompt/completion tokens) or the
// Responses API's (input/output tokens), with reasoning tokens from either.
function tokenCounts(u) {
  const details = u.completion_tokens_details || u.output_tokens_details || {};
  return {
    prompt: u.prompt_tokens !== undefined ? u.prompt_tokens : u.input_tokens,
    completion: u.completion_tokens !== undefined ? u.completion_tokens : u.output_tokens,
    reasoning: details.reasoning_tokens || 0,
  };
}

function send(ev) {
  ev.preventDefault();
  if (state.controller) return;
  const text = $('prompt').value.trim();
  if (!text) return;
  state.history.push({ role: 'user', content: text });
  addMessage('user', text);
  $('prompt').value = '';
  saveChat();
  complete();
}

// regenerate replaces the last answer, or answers a last question that
// has none (a reload during an answer leaves one).
function regenerate() {
  if (state.controller || state.history.length === 0) return;
  if (state.history[state.history.length - 1].role === 'assistant') {
    state.history.pop();
    const items = $('messages').querySelectorAll('.message.assistant');
    if (items.length) items[items.length - 1].remove();
  }
  complete();
}

function clearChat() {
  if (state.controller) state.controller.abort();
  state.history = [];
  $('messages').replaceChildren();
  show($('chat-error'), '');
  saveChat();
  setBusy(false);
}

// --- export, import and view code -------------------------------------------

function exportChat() {
  const file = {
    spillway_chat: 1,
    exported_at: new Date().toISOString(),
    settings: settings(),
    messages: state.history.map((m) => ({ role: m.role, content: m.content })),
  };
  const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 2) + '\n'], { type: 'application/json' }));
  const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
  const a = el('a', { href: url, download: 'spillway-chat-' + stamp + '.json', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function importChat() {
  const input = $('import-file');
  const file = input.files && input.files[0];
  input.value = '';
  if (!file) return;
  show($('chat-error'), '');
  let data = null;
  try {
    if (file.size > maxImport) throw new Error('too large');
    data = JSON.parse(await file.text());
  } catch (_) { data = null; }
  if (!data || data.spillway_chat !== 1 || !Array.isArray(data.messages)) {
    show($('chat-error'), 'That file is not a chat exported from this playground (a JSON file of at most 1 MB).');
    return;
  }
  if (state.controller) state.controller.abort();
  applySettings(data.settings);
  loadHistory(data.messages);
  saveChat();
  $('prompt').focus();
}

function showCode() {
  const history = state.history.slice();
  const pending = $('prompt').value.trim();
  if (pending) history.push({ role: 'user', content: pending });
  if (history.length === 0 || history[history.length - 1].role !== 'user') history.push({ role: 'user', content: 'Hello!' });
  const req = chatRequest(history);
  $('code-sample').firstElementChild.textContent = codeSample($('code-lang').value, $('code-style').value, req, location.origin);
  $('code-note').textContent = 'Set SPILLWAY_API_KEY to your key (' + state.key.slice(0, 7) + '…); the sample sends the ' +
    (req.api === 'responses' ? 'Responses API' : 'chat completions') + ' request these settings make, with ' +
    (pending ? 'the message you are typing' : 'the conversation so far') + '.';
  const d = $('code-dialog');
  if (!d.open) d.showModal();
}

// --- images and embeddings ----------------------------------------------

async function generateImage(ev) {
  ev.preventDefault();
  const out = $('images-result');
  show($('images-error'), '');
  out.replaceChildren(el('p', { class: 'muted' }, 'Generating…'));
  const t0 = performance.now();
  const resp = await post('/v1/images/generations', {
    model: $('images-model').value, prompt: $('images-prompt').value,
    size: $('images-size').value, n: 1, response_format: 'b64_json',
  });
  out.replaceChildren();
  if (!resp.ok) { show($('images-error'), explain(await readError(resp))); return; }
  const body = await resp.json();
  for (const img of body.data || []) {
    const src = img.b64_json ? 'data:image/png;base64,' + img.b64_json : '';
    out.append(el('figure', { class: 'image' },
      src ? el('img', { src, alt: img.revised_prompt || $('images-prompt').value }) : null,
      el('figcaption', {}, img.revised_prompt || '')));
  }
  out.append(el('p', { class: 'stats' }, 'latency ' + Math.round(performance.now() - t0) + ' ms'));
}

async function embed(ev) {
  ev.preventDefault();
  const out = $('embeddings-result');
  show($('embeddings-error'), '');
  const t0 = performance.now();
  const resp = await post('/v1/embeddings', { model: $('embeddings-model').value, input: $('embeddings-input').value });
  out.replaceChildren();
  if (!resp.ok) { show($('embeddings-error'), explain(await readError(resp))); return; }
  const body = await resp.json();
  const vec = (body.data && body.data[0] && body.data[0].embedding) || [];
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Dimensions'), el('dd', { id: 'embedding-dimensions' }, String(vec.length)),
    el('dt', {}, 'First values'), el('dd', { class: 'mono' }, vec.slice(0, 8).map((x) => Number(x).toFixed(6)).join(', ') + (vec.length > 8 ? ', …' : '')),
    el('dt', {}, 'Tokens'), el('dd', {}, fmtNumber(body.usage && body.usage.prompt_tokens)),
    el('dt', {}, 'Latency'), el('dd', {}, Math.round(performance.now() - t0) + ' ms'));
  out.append(facts);
}

// --- wiring -----------------------------------------------------------------

let selectTab = () => {};

document.addEventListener('DOMContentLoaded', () => {
  // Leaving a tab takes a shown-once key off the screen.
  selectTab = setupTabs(document.querySelector('[role=tablist]'), () => clearSecrets());
  $('signin-form').addEventListener('submit', (ev) => { ev.preventDefault(); signIn($('key').value.trim()); });
  $('register-form').addEventListener('submit', register);
  $('signout').addEventListener('click', signOut);
  $('chat-form').addEventListener('submit', send);
  $('prompt').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $('chat-form').requestSubmit(); }
  });
  $('stop-btn').addEventListener('click', () => { if (state.controller) state.controller.abort(); });
  $('regenerate').addEventListener('click', regenerate);
  $('clear').addEventListener('click', clearChat);
  $('setup-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('setup-form').addEventListener('input', () => { updateOutputs(); saveChat(); });
  $('setup-form').addEventListener('change', () => { updateOutputs(); saveChat(); });
  $('setup-toggle').addEventListener('click', () => setSetupOpen($('setup').classList.contains('collapsed')));
  $('view-code').addEventListener('click', showCode);
  $('code-lang').addEventListener('change', showCode);
  $('code-style').addEventListener('change', showCode);
  $('code-close').addEventListener('click', () => $('code-dialog').close());
  $('code-copy').addEventListener('click', async () => copied($('code-copy'), await copyText($('code-sample').textContent)));
  $('export-chat').addEventListener('click', exportChat);
  $('import-chat').addEventListener('click', () => $('import-file').click());
  $('import-file').addEventListener('change', importChat);
  $('images-form').addEventListener('submit', generateImage);
  $('embeddings-form').addEventListener('submit', embed);
  updateOutputs();
  if (state.key) signIn(state.key);
  else $('key').focus();
});
