// The playground: signs in with a client or attendee key (kept in
// sessionStorage for this tab, never in a URL), then talks to the
// gateway's own OpenAI-style routes. Chat answers stream over SSE read
// from fetch's ReadableStream, so tokens show as they arrive.
'use strict';

const KEY = 'spillway.key';
const DEFAULT_MAX_TOKENS = 4096;
const state = {
  key: sessionStorage.getItem(KEY) || '',
  models: { chat: [], images: [], embeddings: [] },
  history: [],       // [{role, content}] without the system message
  controller: null,  // the AbortController of the answer in flight
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
    if (e.status === 401) show($('signin-error'), 'That key was not accepted (401). Check it and try again.');
    else show($('signin-error'), explain(e.status === undefined ? { status: 0 } : e));
    $('signin').hidden = false;
    $('workspace').hidden = true;
    return;
  }
  sessionStorage.setItem(KEY, key);
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
    if (resp.ok) desc.innerHTML = await resp.text();
    else desc.textContent = info.description;
  }
  const facts = $('event-facts');
  facts.replaceChildren();
  const fact = (k, v) => { if (v) facts.append(el('dt', {}, k), el('dd', {}, v)); };
  const when = (s) => (s ? new Date(s).toLocaleString() : '');
  if (info.start || info.end) fact('When', when(info.start) + ' – ' + when(info.end) + (info.time_zone ? ' (' + info.time_zone + ')' : ''));
  if (info.max_token_cap) fact('Max tokens per request', fmtNumber(info.max_token_cap));
  if (info.daily_request_cap) fact('Requests per day', fmtNumber(info.daily_request_cap));
  if (info.organizer_name || info.organizer_email) fact('Organiser', [info.organizer_name, info.organizer_email].filter(Boolean).join(' · '));
  if (info.event_url && /^https?:\/\//i.test(info.event_url)) {
    facts.append(el('dt', {}, 'More'), el('dd', {}, el('a', { href: info.event_url, rel: 'noopener noreferrer', target: '_blank' }, info.event_url_text || info.event_url)));
  }
  card.hidden = false;
}

function signOut() {
  if (state.controller) state.controller.abort();
  sessionStorage.removeItem(KEY);
  state.key = '';
  state.history = [];
  $('messages').replaceChildren();
  show($('workspace-notice'), '');
  $('workspace').hidden = true;
  $('signin').hidden = false;
  $('signout').hidden = true;
  $('whoami').textContent = '';
  $('key').value = '';
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
  show($('workspace-notice'), 'Registered as ' + body.attendee + '. Your key is ' + body.api_key + ' — keep it to sign in again later.');
}

// --- chat -----------------------------------------------------------------

function updateOutputs() {
  $('max-tokens-out').textContent = $('max-tokens').value;
  $('temperature-out').textContent = $('temperature').value;
  $('top-p-out').textContent = $('top-p').value;
}

function stopSequences() {
  return $('stop').value.split(',').map((s) => s.trim()).filter(Boolean).slice(0, 4);
}

function addMessage(role, text) {
  const body = el('div', { class: 'content' }, text);
  const li = el('li', { class: 'message ' + role }, el('div', { class: 'role' }, role === 'user' ? 'You' : 'Assistant'), body);
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
  return { li, body };
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop-btn').hidden = !busy;
  $('regenerate').disabled = busy || !state.history.some((m) => m.role === 'assistant');
}

// complete asks for the next assistant message of state.history and
// streams it into a new bubble.
async function complete() {
  show($('chat-error'), '');
  const model = $('chat-model').value;
  const responses = $('use-responses').checked;
  const common = {
    model,
    temperature: Number($('temperature').value),
    top_p: Number($('top-p').value),
    stream: true,
  };
  // The Responses API takes the system message as instructions and caps
  // max_output_tokens; it keeps nothing here (store: false), the history
  // is sent each time as with chat. It has no stop sequences.
  const body = responses
    ? { ...common, instructions: $('system').value, input: state.history, max_output_tokens: Number($('max-tokens').value), store: false }
    : { ...common, messages: [{ role: 'system', content: $('system').value }, ...state.history], max_tokens: Number($('max-tokens').value), stream_options: { include_usage: true } };
  const stop = stopSequences();
  if (stop.length && !responses) body.stop = stop;

  const bubble = addMessage('assistant', '');
  bubble.li.classList.add('streaming');
  bubble.li.setAttribute('aria-busy', 'true');
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  const t0 = performance.now();
  let firstToken = null, text = '', usage = null, outcome = 'done';
  try {
    const resp = await post(responses ? '/v1/responses' : '/v1/chat/completions', body, controller.signal);
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
            bubble.body.textContent = text;
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
  const total = performance.now() - t0;
  state.history.push({ role: 'assistant', content: text });
  bubble.li.dataset.state = outcome;
  const stats = [];
  if (usage) {
    stats.push(fmtNumber(usage.prompt) + ' prompt tokens', fmtNumber(usage.completion) + ' completion tokens');
    if (usage.reasoning) stats.push(fmtNumber(usage.reasoning) + ' reasoning tokens');
  }
  if (firstToken !== null) stats.push('first token ' + Math.round(firstToken) + ' ms');
  stats.push('total ' + Math.round(total) + ' ms');
  if (outcome === 'stopped') stats.push('stopped');
  bubble.li.append(el('div', { class: 'stats' }, stats.join(' · ')));
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
  complete();
}

function regenerate() {
  if (state.controller) return;
  const last = state.history[state.history.length - 1];
  if (!last || last.role !== 'assistant') return;
  state.history.pop();
  const items = $('messages').querySelectorAll('.message.assistant');
  if (items.length) items[items.length - 1].remove();
  complete();
}

function clearChat() {
  if (state.controller) state.controller.abort();
  state.history = [];
  $('messages').replaceChildren();
  show($('chat-error'), '');
  setBusy(false);
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

document.addEventListener('DOMContentLoaded', () => {
  setupTabs(document.querySelector('[role=tablist]'));
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
  for (const id of ['max-tokens', 'temperature', 'top-p']) $(id).addEventListener('input', updateOutputs);
  $('images-form').addEventListener('submit', generateImage);
  $('embeddings-form').addEventListener('submit', embed);
  updateOutputs();
  if (state.key) signIn(state.key);
  else $('key').focus();
});
