// "View code": the request the playground would send next, as a program
// to copy: curl, Python, JavaScript or Go, with the official OpenAI SDKs
// in their OpenAI or Azure OpenAI mode, pointed at this gateway. The key
// is read from SPILLWAY_API_KEY, never written into the sample.
'use strict';

// azureAPIVersion is what the Azure samples ask for; the gateway accepts
// any, and the Responses API needs one at least this new.
const azureAPIVersion = { chat: '2024-10-21', responses: '2025-04-01-preview' };

// codeSample returns the program in lang ('curl', 'python', 'javascript',
// 'go') and style ('openai', 'azure') that sends req = {api: 'chat' or
// 'responses', body} to the gateway at origin.
function codeSample(lang, style, req, origin) {
  const gen = { curl: curlSample, python: pythonSample, javascript: jsSample, go: goSample }[lang];
  return gen(style === 'azure', req.api === 'responses', req.body, origin);
}

// isLoopback reports whether origin is plain HTTP to this machine, where
// the Go SDK's Azure mode sends a key only when told it may.
function isLoopback(origin) {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\./.test(u.hostname));
  } catch (_) { return false; }
}

// --- curl ---------------------------------------------------------------------

function shellQuote(s) {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

function curlSample(azure, responses, body, origin) {
  let url, auth, sent = body;
  if (azure && responses) {
    url = origin + '/openai/v1/responses';
  } else if (azure) {
    url = origin + '/openai/deployments/' + encodeURIComponent(body.model) + '/chat/completions?api-version=' + azureAPIVersion.chat;
    sent = Object.assign({}, body);
    delete sent.model; // the deployment in the URL names it
  } else {
    url = origin + '/v1/' + (responses ? 'responses' : 'chat/completions');
  }
  auth = azure ? '-H "api-key: $SPILLWAY_API_KEY"' : '-H "Authorization: Bearer $SPILLWAY_API_KEY"';
  return 'curl -N ' + shellQuote(url) + ' \\\n  ' + auth + ' \\\n  -H "Content-Type: application/json" \\\n  -d ' +
    shellQuote(JSON.stringify(sent, null, 2)) + '\n';
}

// --- Python ---------------------------------------------------------------------

// py writes a JSON value as a Python literal.
function py(v, indent) {
  const pad = '    '.repeat(indent + 1), end = '    '.repeat(indent);
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' || typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== 'object' || x === null)) return '[' + v.map((x) => py(x, 0)).join(', ') + ']';
    return '[\n' + v.map((x) => pad + py(x, indent + 1) + ',\n').join('') + end + ']';
  }
  return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ': ' + py(x, indent + 1)).join(', ') + '}';
}

function pythonSample(azure, responses, body, origin) {
  const client = azure
    ? 'from openai import AzureOpenAI\n\nclient = AzureOpenAI(\n    azure_endpoint=' + JSON.stringify(origin) +
      ',\n    api_version=' + JSON.stringify(azureAPIVersion[responses ? 'responses' : 'chat']) + ',\n    api_key=os.environ["SPILLWAY_API_KEY"],\n)\n'
    : 'from openai import OpenAI\n\nclient = OpenAI(\n    base_url=' + JSON.stringify(origin + '/v1') + ',\n    api_key=os.environ["SPILLWAY_API_KEY"],\n)\n';
  const args = Object.entries(body).map(([k, v]) => '    ' + k + '=' + py(v, 1) + ',\n').join('');
  const call = responses ? 'client.responses.create' : 'client.chat.completions.create';
  const loop = responses
    ? 'for event in stream:\n    if event.type == "response.output_text.delta":\n        print(event.delta, end="", flush=True)\nprint()\n'
    : 'for chunk in stream:\n    if chunk.choices and chunk.choices[0].delta.content:\n        print(chunk.choices[0].delta.content, end="", flush=True)\nprint()\n';
  return 'import os\n\n' + client + '\nstream = ' + call + '(\n' + args + ')\n' + loop;
}

// --- JavaScript -------------------------------------------------------------------

function jsSample(azure, responses, body, origin) {
  const client = azure
    ? "import { AzureOpenAI } from 'openai';\n\nconst client = new AzureOpenAI({\n  endpoint: " + JSON.stringify(origin) +
      ',\n  apiVersion: ' + JSON.stringify(azureAPIVersion[responses ? 'responses' : 'chat']) + ',\n  apiKey: process.env.SPILLWAY_API_KEY,\n});\n'
    : "import OpenAI from 'openai';\n\nconst client = new OpenAI({\n  baseURL: " + JSON.stringify(origin + '/v1') + ',\n  apiKey: process.env.SPILLWAY_API_KEY,\n});\n';
  const call = responses ? 'client.responses.create' : 'client.chat.completions.create';
  const loop = responses
    ? "for await (const event of stream) {\n  if (event.type === 'response.output_text.delta') process.stdout.write(event.delta);\n}\n"
    : "for await (const chunk of stream) {\n  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');\n}\n";
  return client + '\nconst stream = await ' + call + '(' + JSON.stringify(body, null, 2) + ');\n' + loop + "process.stdout.write('\\n');\n";
}

// --- Go ---------------------------------------------------------------------------

// gofmtFields lines up the values of a composite literal's "Key: value,"
// lines as gofmt does: across runs of one-line fields, a field that spans
// lines ending the run.
function gofmtFields(fields) {
  const out = [];
  let run = [];
  const flush = () => {
    const width = Math.max(0, ...run.map((f) => f.indexOf(':')));
    for (const f of run) {
      const i = f.indexOf(':');
      out.push(f.slice(0, i + 1) + ' '.repeat(width - i) + f.slice(i + 1));
    }
    run = [];
  };
  for (const f of fields) {
    if (f.includes('\n')) { flush(); out.push(f); } else run.push(f);
  }
  flush();
  return out;
}

function goSample(azure, responses, body, origin) {
  const q = JSON.stringify; // a JSON string is a valid Go string literal
  const imports = ['"context"', '"fmt"', '"os"', '', '"github.com/openai/openai-go/v3"'];
  imports.push(azure ? '"github.com/openai/openai-go/v3/azure"' : '"github.com/openai/openai-go/v3/option"');
  if (responses) imports.push('"github.com/openai/openai-go/v3/responses"');
  const opts = azure
    ? ['azure.WithEndpoint(' + q(origin) + ', ' + q(azureAPIVersion[responses ? 'responses' : 'chat']) + '),', 'azure.WithAPIKey(os.Getenv("SPILLWAY_API_KEY")),']
    : ['option.WithBaseURL(' + q(origin + '/v1') + '),', 'option.WithAPIKey(os.Getenv("SPILLWAY_API_KEY")),'];
  if (azure && isLoopback(origin)) opts.push('azure.WithUnsafeAllowHTTP(), // plain HTTP to this machine only');
  const fields = [];
  const num = (name, v, wrap) => { if (v !== undefined) fields.push(name + ': openai.' + wrap + '(' + v + '),'); };
  let call, loop;
  if (responses) {
    fields.push('Model: ' + q(body.model) + ',');
    if (body.instructions) fields.push('Instructions: openai.String(' + q(body.instructions) + '),');
    const items = (body.input || []).map((m) => '\t\t\tresponses.ResponseInputItemParamOfMessage(' + q(m.content) + ', responses.EasyInputMessageRole' + (m.role === 'assistant' ? 'Assistant' : 'User') + '),');
    fields.push('Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{\n' + items.join('\n') + '\n\t\t}},');
    num('MaxOutputTokens', body.max_output_tokens, 'Int');
    num('Temperature', body.temperature, 'Float');
    num('TopP', body.top_p, 'Float');
    if (body.store !== undefined) fields.push('Store: openai.Bool(' + body.store + '),');
    call = 'client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{';
    loop = '\tfor stream.Next() {\n\t\tif ev := stream.Current(); ev.Type == "response.output_text.delta" {\n\t\t\tfmt.Print(ev.AsResponseOutputTextDelta().Delta)\n\t\t}\n\t}\n';
  } else {
    fields.push('Model: ' + q(body.model) + ',');
    const fn = { system: 'SystemMessage', user: 'UserMessage', assistant: 'AssistantMessage' };
    const msgs = body.messages.map((m) => '\t\t\topenai.' + (fn[m.role] || 'UserMessage') + '(' + q(m.content) + '),');
    fields.push('Messages: []openai.ChatCompletionMessageParamUnion{\n' + msgs.join('\n') + '\n\t\t},');
    num('MaxTokens', body.max_tokens, 'Int');
    num('Temperature', body.temperature, 'Float');
    num('TopP', body.top_p, 'Float');
    num('FrequencyPenalty', body.frequency_penalty, 'Float');
    num('PresencePenalty', body.presence_penalty, 'Float');
    if (body.stop) fields.push('Stop: openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{' + body.stop.map(q).join(', ') + '}},');
    call = 'client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{';
    loop = '\tfor stream.Next() {\n\t\tif c := stream.Current(); len(c.Choices) > 0 {\n\t\t\tfmt.Print(c.Choices[0].Delta.Content)\n\t\t}\n\t}\n';
  }
  return 'package main\n\nimport (\n' + imports.map((i) => (i ? '\t' + i : '')).join('\n') + '\n)\n\nfunc main() {\n' +
    '\tclient := openai.NewClient(\n' + opts.map((o) => '\t\t' + o).join('\n') + '\n\t)\n' +
    '\tstream := ' + call + '\n' + gofmtFields(fields).map((f) => '\t\t' + f).join('\n') + '\n\t})\n' + loop +
    '\tif err := stream.Err(); err != nil {\n\t\tfmt.Fprintln(os.Stderr, err)\n\t\tos.Exit(1)\n\t}\n\tfmt.Println()\n}\n';
}
