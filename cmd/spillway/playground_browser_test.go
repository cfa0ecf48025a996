package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserPlayground signs in to the playground with the keyboard,
// watches a chat answer stream in token by token, stops and regenerates
// one, hits a 429, gets an answer full of markup shown as text, and uses
// the embeddings and images tabs.
func TestBrowserPlayground(t *testing.T) {
	s := startBrowserApp(t)
	b := newBrowser(t, 1280, 900)
	b.do(t, "open the playground", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("key")))

	// A wrong key is refused with a message.
	b.do(t, "sign in with a wrong key", chromedp.SendKeys(chromedp.ID("key"), "sk-wrong"+kb.Enter))
	if msg := waitFor[string](t, b, "the sign-in error", `!document.getElementById('signin-error').hidden && document.getElementById('signin-error').textContent`); !strings.Contains(msg, "401") {
		t.Errorf("wrong key: message %q, want it to name the 401", msg)
	}

	// The key field has focus; Enter signs in.
	setValue(t, b, "key", "")
	b.do(t, "sign in", chromedp.SendKeys(chromedp.ID("key"), browserKey+kb.Enter), chromedp.WaitVisible(chromedp.ID("workspace")))
	if href := eval[string](t, b, "location.href"); strings.Contains(href, browserKey) {
		t.Errorf("the key is in the URL: %s", href)
	}
	if got := eval[string](t, b, "sessionStorage.getItem('spillway.key')"); got != browserKey {
		t.Errorf("sessionStorage key = %q, want the key kept for this tab", got)
	}
	models := eval[[]string](t, b, `Array.from(document.querySelectorAll('#chat-model option')).map(o => o.value)`)
	for _, want := range []string{"gpt-4o", "gpt-4o-busy", "hostile"} {
		if !contains(models, want) {
			t.Errorf("chat models %v lack %s", models, want)
		}
	}
	if contains(models, "dall-e-3") || contains(models, "text-embedding-3-small") {
		t.Errorf("chat models %v include image or embedding models", models)
	}
	if sys := eval[string](t, b, `document.getElementById('system').value`); sys != "You are an AI assistant that helps people find information." {
		t.Errorf("default system message = %q", sys)
	}

	// A streamed answer: text shows while the answer is still streaming,
	// and the finished answer continues that text.
	b.do(t, "send a prompt", chromedp.Evaluate[chromedp.Void](`document.getElementById("chat-model").value = "gpt-4o"`),
		chromedp.SendKeys(chromedp.ID("prompt"), "What is a spillway?"+kb.Enter))
	partial := waitFor[string](t, b, "the first tokens while streaming", `(() => {
		const m = document.querySelector('#messages .message.assistant.streaming .content');
		return m && m.textContent.length > 0 && m.textContent;
	})()`)
	if eval[bool](t, b, `document.getElementById('stop-btn').hidden`) {
		t.Error("the stop button is hidden while the answer streams")
	}
	final := waitFor[string](t, b, "the finished answer", `(() => {
		const m = document.querySelector('#messages .message.assistant[data-state=done] .content');
		return m && m.textContent;
	})()`)
	if !strings.HasPrefix(final, partial) || len(final) <= len(partial) {
		t.Errorf("streaming: saw %q while streaming, then %q; want the answer to grow from what was shown", partial, final)
	}
	stats := eval[string](t, b, `document.querySelector('#messages .message.assistant .stats').textContent`)
	if !regexp.MustCompile(`\d+ prompt tokens · \d+ completion tokens · first token \d+ ms · total \d+ ms`).MatchString(stats) {
		t.Errorf("answer stats = %q, want token counts and latency", stats)
	}

	// Stop cuts an answer short; regenerate replaces it with a full one.
	b.do(t, "send another prompt", chromedp.SendKeys(chromedp.ID("prompt"), "And a weir?"+kb.Enter))
	waitFor[bool](t, b, "streaming", `(() => { const m = document.querySelector('.message.streaming .content'); return !!m && m.textContent.length > 0; })()`)
	b.do(t, "stop", chromedp.Click(chromedp.ID("stop-btn")))
	waitFor[bool](t, b, "the stopped answer", `!!document.querySelector('.message.assistant[data-state=stopped]')`)
	b.do(t, "regenerate", chromedp.Click(chromedp.ID("regenerate")))
	waitFor[bool](t, b, "the regenerated answer", `(() => {
		const all = document.querySelectorAll('#messages .message.assistant');
		return all.length === 2 && all[1].dataset.state === 'done';
	})()`)
	b.do(t, "clear", chromedp.Click(chromedp.ID("clear")))
	if n := eval[int](t, b, `document.querySelectorAll('#messages li').length`); n != 0 {
		t.Errorf("after clear: %d messages, want 0", n)
	}

	// Every deployment of gpt-4o-busy answers 429: the user is told to
	// wait, and for how long.
	b.do(t, "send to the busy model", chromedp.Evaluate[chromedp.Void](`document.getElementById("chat-model").value = "gpt-4o-busy"`),
		chromedp.SendKeys(chromedp.ID("prompt"), "Hello?"+kb.Enter))
	msg := waitFor[string](t, b, "the 429 message", `!document.getElementById('chat-error').hidden && document.getElementById('chat-error').textContent`)
	if !regexp.MustCompile(`^Rate limited \(429\)\..* Try again in \d+ s \(at .+\)\.$`).MatchString(msg) {
		t.Errorf("429 message = %q, want it to say rate limited and when to retry", msg)
	}
	if n := s.busy.Requests(); n == 0 {
		t.Error("the busy upstream saw no request")
	}

	// A model answer full of markup is shown as text and runs nothing.
	b.do(t, "ask the hostile model", chromedp.Evaluate[chromedp.Void](`document.getElementById("chat-model").value = "hostile"`),
		chromedp.SendKeys(chromedp.ID("prompt"), "Write some HTML"+kb.Enter))
	got := waitFor[string](t, b, "the hostile answer", `(() => {
		const m = document.querySelector('#messages .message.assistant[data-state=done] .content');
		return m && m.textContent;
	})()`)
	if got != xssAnswer {
		t.Errorf("hostile answer shown as %q, want the text %q", got, xssAnswer)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#messages script, #messages img').length`); n != 0 {
		t.Errorf("the answer created %d script/img elements", n)
	}
	if v := eval[string](t, b, `String(window.__xss)`); v != "undefined" {
		t.Errorf("the answer's script ran: window.__xss = %s", v)
	}

	// Embeddings: dimensions and the first values.
	b.do(t, "embed", chromedp.Click(chromedp.ID("tab-embeddings")), chromedp.WaitVisible(chromedp.ID("embeddings-input")),
		chromedp.SendKeys(chromedp.ID("embeddings-input"), "spillway"), chromedp.Click(chromedp.CSS("#embeddings-form button[type=submit]")))
	dims := waitFor[string](t, b, "the embedding", `(() => { const d = document.getElementById('embedding-dimensions'); return d && d.textContent; })()`)
	if n, err := strconv.Atoi(dims); err != nil || n <= 0 {
		t.Errorf("embedding dimensions = %q, want a positive number", dims)
	}

	// Images: the picture arrives inline (the CSP allows data: images).
	b.do(t, "generate an image", chromedp.Click(chromedp.ID("tab-images")), chromedp.WaitVisible(chromedp.ID("images-prompt")),
		chromedp.SendKeys(chromedp.ID("images-prompt"), "a lighthouse"), chromedp.Click(chromedp.CSS("#images-form button[type=submit]")))
	waitFor[bool](t, b, "the image", `(() => { const i = document.querySelector('#images-result img'); return !!i && i.complete && i.naturalWidth > 0; })()`)
}

// TestBrowserPhone: on a phone-width screen the playground fits without
// sideways scrolling and still chats.
func TestBrowserPhone(t *testing.T) {
	s := startBrowserApp(t)
	b := newBrowser(t, 390, 844)
	b.do(t, "sign in", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), browserKey+kb.Enter), chromedp.WaitVisible(chromedp.ID("workspace")))
	if w := eval[int](t, b, `window.innerWidth`); w != 390 {
		t.Fatalf("viewport width = %d, want 390", w)
	}
	if w := eval[int](t, b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the page is %d px wider than a phone screen", w)
	}
	b.do(t, "chat", chromedp.SendKeys(chromedp.ID("prompt"), "Hi"+kb.Enter))
	waitFor[bool](t, b, "the answer", `!!document.querySelector('.message.assistant[data-state=done]')`)
	if w := eval[int](t, b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("with a conversation, the page is %d px wider than a phone screen", w)
	}
	b.screenshot(t, "playground-phone")

	// The portal fits too: wide tables scroll inside their cards.
	adminSignIn(t, b, s.url)
	for _, tab := range []string{"deployments", "events", "keys", "usage"} {
		b.do(t, "open "+tab, chromedp.Click(chromedp.ID("tab-"+tab)))
		if w := eval[int](t, b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("admin %s tab: the page is %d px wider than a phone screen", tab, w)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
