package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// recordChats makes the page keep the body of every chat request it
// sends in window.__bodies (a reload forgets it).
const recordChats = `(() => {
	window.__bodies = [];
	const f = window.fetch;
	window.fetch = (url, init) => {
		if (String(url).endsWith('/v1/chat/completions')) window.__bodies.push(JSON.parse(init.body));
		return f(url, init);
	};
})()`

// TestBrowserPlaygroundSession: the playground's settings (penalties and
// "past messages included" among them) shape the requests; a reload
// keeps the conversation and the settings; "View code" shows them as
// curl, Python, JavaScript and Go in both styles, without the key; a chat
// exports and imports as a file; and signing out resets everything the
// last user saw or set.
func TestBrowserPlaygroundSession(t *testing.T) {
	s := startBrowserApp(t)
	b := newBrowser(t, 1280, 900)
	b.do(t, "sign in", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), browserKey+kb.Enter), chromedp.WaitVisible(chromedp.ID("workspace")))
	set := func(id, v string) {
		t.Helper()
		b.do(t, "set #"+id, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('input', {bubbles: true})); })()`, id, v)))
	}
	set("chat-model", "gpt-4o")
	set("system", "Be brief.")
	set("max-tokens", "5")
	set("frequency-penalty", "0.5")
	set("presence-penalty", "-0.3")
	set("past-messages", "2")
	set("stop", "END")
	b.do(t, "record requests", chromedp.Evaluate[chromedp.Void](recordChats))
	for i, prompt := range []string{"One?", "Two?", "Three?"} {
		b.do(t, "send "+prompt, chromedp.SendKeys(chromedp.ID("prompt"), prompt+kb.Enter))
		waitFor[bool](t, b, "answer "+prompt, fmt.Sprintf(`document.querySelectorAll('#messages .message.assistant[data-state=done]').length === %d`, i+1))
	}
	var bodies []map[string]any
	if err := json.Unmarshal([]byte(eval[string](t, b, `JSON.stringify(window.__bodies)`)), &bodies); err != nil || len(bodies) != 3 {
		t.Fatalf("recorded %d chat requests (%v), want 3", len(bodies), err)
	}
	last := bodies[2]
	for field, want := range map[string]any{"max_tokens": 5.0, "frequency_penalty": 0.5, "presence_penalty": -0.3, "model": "gpt-4o"} {
		if last[field] != want {
			t.Errorf("request %s = %v, want %v", field, last[field], want)
		}
	}
	if stop, _ := last["stop"].([]any); len(stop) != 1 || stop[0] != "END" {
		t.Errorf("request stop = %v, want [END]", last["stop"])
	}
	// The system message, the two past messages allowed, and the question.
	var roles []string
	msgs, _ := last["messages"].([]any)
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		roles = append(roles, fmt.Sprint(mm["role"], ":", mm["content"]))
	}
	if len(roles) != 4 || roles[0] != "system:Be brief." || roles[1] != "user:Two?" || roles[3] != "user:Three?" {
		t.Errorf("third request's messages %q, want the system message, the last 2 past messages and the question", roles)
	}

	// A reload keeps the conversation and the settings.
	b.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("workspace")))
	waitFor[bool](t, b, "the conversation back", `document.querySelectorAll('#messages .message').length === 6`)
	after := eval[map[string]string](t, b, `Object.fromEntries(['chat-model', 'system', 'max-tokens', 'frequency-penalty', 'presence-penalty', 'past-messages', 'stop'].map(id => [id, document.getElementById(id).value]))`)
	for id, want := range map[string]string{"chat-model": "gpt-4o", "system": "Be brief.", "max-tokens": "5", "frequency-penalty": "0.5", "presence-penalty": "-0.3", "past-messages": "2", "stop": "END"} {
		if after[id] != want {
			t.Errorf("after a reload #%s = %q, want %q", id, after[id], want)
		}
	}
	if n := eval[int](t, b, `document.querySelectorAll('#messages .message.assistant .stats').length`); n != 3 {
		t.Errorf("after a reload %d answers show their stats, want 3", n)
	}

	checkViewCode(t, s, b)
	checkExportImport(t, b)
	checkSignOutResets(t, b)
}

// checkViewCode opens "View code" and reads every language in both
// styles: the gateway's address, the settings and the conversation, the
// key's variable and never the key.
func checkViewCode(t *testing.T, s *browserApp, b *browser) {
	t.Helper()
	b.do(t, "view code", chromedp.Click(chromedp.ID("view-code")), chromedp.WaitVisible(chromedp.ID("code-sample")))
	for _, tc := range []struct {
		lang, style string
		want        []string
	}{
		{"curl", "openai", []string{"curl -N '" + s.url + "/v1/chat/completions'", `-H "Authorization: Bearer $SPILLWAY_API_KEY"`, `"frequency_penalty": 0.5`, `"content": "Three?"`}},
		{"curl", "azure", []string{"'" + s.url + "/openai/deployments/gpt-4o/chat/completions?api-version=", `-H "api-key: $SPILLWAY_API_KEY"`, `"presence_penalty": -0.3`}},
		{"python", "openai", []string{"from openai import OpenAI", `base_url="` + s.url + `/v1"`, "frequency_penalty=0.5,", "presence_penalty=-0.3,", `stop=["END"],`, `{"role": "system", "content": "Be brief."}`}},
		{"python", "azure", []string{"from openai import AzureOpenAI", `azure_endpoint="` + s.url + `"`, "api_version="}},
		{"javascript", "openai", []string{"import OpenAI from 'openai';", `baseURL: "` + s.url + `/v1"`, `"max_tokens": 5`, "process.env.SPILLWAY_API_KEY"}},
		{"javascript", "azure", []string{"import { AzureOpenAI } from 'openai';", `endpoint: "` + s.url + `"`}},
		{"go", "openai", []string{`option.WithBaseURL("` + s.url + `/v1")`, "FrequencyPenalty: openai.Float(0.5),", "MaxTokens: openai.Int(5),", `openai.UserMessage("Three?"),`, `OfStringArray: []string{"END"}`}},
		{"go", "azure", []string{`azure.WithEndpoint("` + s.url + `", `, "azure.WithUnsafeAllowHTTP()"}},
	} {
		b.do(t, "pick "+tc.lang+" "+tc.style, chromedp.SetValue(chromedp.ID("code-lang"), tc.lang), chromedp.SetValue(chromedp.ID("code-style"), tc.style),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('code-style').dispatchEvent(new Event('change'))`))
		code := eval[string](t, b, `document.getElementById('code-sample').textContent`)
		code = regexp.MustCompile(` +`).ReplaceAllString(code, " ") // as gofmt aligns or not
		for _, w := range tc.want {
			if !strings.Contains(code, w) {
				t.Errorf("%s %s sample lacks %q:\n%s", tc.style, tc.lang, w, code)
			}
		}
		if strings.Contains(code, browserKey) {
			t.Errorf("%s %s sample holds the key", tc.style, tc.lang)
		}
	}
	b.do(t, "copy the sample", chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = (text) => { window.__copied = text; return Promise.resolve(); }`),
		chromedp.Click(chromedp.ID("code-copy")))
	if got := waitFor[string](t, b, "the copied sample", `window.__copied`); got != eval[string](t, b, `document.getElementById('code-sample').textContent`) {
		t.Errorf("copied %q, want the sample shown", got)
	}
	b.do(t, "close with Escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("code-dialog")))

	// With the Responses API, the sample calls it, and the settings it
	// has no use for are off.
	b.do(t, "use the Responses API", chromedp.Click(chromedp.ID("use-responses")), chromedp.Click(chromedp.ID("view-code")), chromedp.WaitVisible(chromedp.ID("code-sample")))
	if code := eval[string](t, b, `document.getElementById('code-sample').textContent`); !strings.Contains(code, "client.Responses.NewStreaming") || !strings.Contains(code, `Instructions: openai.String("Be brief.")`) {
		t.Errorf("Responses API sample:\n%s", code)
	}
	if !eval[bool](t, b, `['stop', 'frequency-penalty', 'presence-penalty'].every(id => document.getElementById(id).disabled)`) {
		t.Error("with the Responses API, stop sequences and penalties are still offered")
	}
	b.do(t, "close", chromedp.Click(chromedp.ID("code-close")), chromedp.WaitNotVisible(chromedp.ID("code-dialog")), chromedp.Click(chromedp.ID("use-responses")))
}

// checkExportImport exports the chat as a file, then imports another one,
// and refuses a file that is not a chat.
func checkExportImport(t *testing.T, b *browser) {
	t.Helper()
	// The page's CSP keeps even a blob: URL from being fetched back, so
	// the test reads the blob as it is made, and stops the download.
	b.do(t, "export", chromedp.Evaluate[chromedp.Void](`(() => {
		const make = URL.createObjectURL;
		URL.createObjectURL = (blob) => { blob.text().then(t => { window.__exported = t; }); return make(blob); };
		const click = HTMLAnchorElement.prototype.click;
		HTMLAnchorElement.prototype.click = function () {
			if (this.download) { window.__download = this.download; return; }
			return click.call(this);
		};
	})()`), chromedp.Click(chromedp.ID("export-chat")))
	name := waitFor[string](t, b, "the download", `window.__download`)
	if !strings.HasPrefix(name, "spillway-chat-") || !strings.HasSuffix(name, ".json") {
		t.Errorf("export file name %q", name)
	}
	raw := waitFor[string](t, b, "the exported file", `window.__exported`)
	var exported struct {
		Version  int                 `json:"spillway_chat"`
		Settings map[string]any      `json:"settings"`
		Messages []map[string]string `json:"messages"`
	}
	if err := json.Unmarshal([]byte(raw), &exported); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, raw)
	}
	if exported.Version != 1 || len(exported.Messages) != 6 || exported.Messages[0]["content"] != "One?" || exported.Settings["frequencyPenalty"] != 0.5 {
		t.Errorf("export = %s, want version 1, the 6 messages and the settings", raw)
	}

	dir := t.TempDir()
	chat := filepath.Join(dir, "chat.json")
	if err := os.WriteFile(chat, []byte(`{"spillway_chat":1,"settings":{"system":"From a file","model":"gpt-4o"},
		"messages":[{"role":"user","content":"Imported question"},{"role":"assistant","content":"An **imported** answer <script>window.__xss = 10</script>"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(t, "import", chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{chat}))
	waitFor[bool](t, b, "the imported chat", `document.querySelectorAll('#messages .message').length === 2 && !!document.querySelector('#messages strong')`)
	if got := eval[string](t, b, `document.getElementById('system').value`); got != "From a file" {
		t.Errorf("after the import the system message is %q, want the file's", got)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#messages script').length`); n != 0 || eval[string](t, b, `String(window.__xss)`) != "undefined" {
		t.Errorf("the imported answer made %d script elements", n)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"hello": "world"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(t, "import a wrong file", chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{bad}))
	if msg := waitFor[string](t, b, "the refusal", `!document.getElementById('chat-error').hidden && document.getElementById('chat-error').textContent`); !strings.Contains(msg, "not a chat exported") {
		t.Errorf("wrong file: message %q", msg)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#messages .message').length`); n != 2 {
		t.Errorf("a wrong file changed the chat: %d messages, want the 2 imported", n)
	}
}

// checkSignOutResets signs out after an error and changed settings: the
// next person at the tab finds none of it, signed in or not.
func checkSignOutResets(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, "ask the busy model", chromedp.SetValue(chromedp.ID("chat-model"), "gpt-4o-busy"),
		chromedp.SendKeys(chromedp.ID("prompt"), "Hello?"+kb.Enter))
	waitFor[bool](t, b, "the 429", `!document.getElementById('chat-error').hidden`)
	b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("key")))
	const seen = `JSON.stringify({
		error: document.getElementById('chat-error').textContent, messages: document.querySelectorAll('#messages li').length,
		system: document.getElementById('system').value, max: document.getElementById('max-tokens').value,
		penalties: document.getElementById('frequency-penalty').value + '/' + document.getElementById('presence-penalty').value,
		past: document.getElementById('past-messages').value, stop: document.getElementById('stop').value,
		stored: Object.keys(sessionStorage).join(','), key: document.getElementById('key').value,
	})`
	const fresh = `{"error":"","messages":0,"system":"You are an AI assistant that helps people find information.","max":"800","penalties":"0/0","past":"10","stop":"","stored":"","key":""}`
	if got := eval[string](t, b, seen); got != fresh {
		t.Errorf("after signing out the page holds %s, want %s", got, fresh)
	}
	b.do(t, "sign in again", chromedp.SendKeys(chromedp.ID("key"), browserKey+kb.Enter), chromedp.WaitVisible(chromedp.ID("workspace")))
	want := strings.Replace(fresh, `"stored":""`, `"stored":"spillway.key"`, 1)
	if got := eval[string](t, b, seen); got != want {
		t.Errorf("signed in again, the page holds %s, want %s", got, want)
	}
}
