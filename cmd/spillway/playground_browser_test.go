package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserPlayground signs in to the playground with the keyboard,
// watches a chat answer stream in token by token, stops and regenerates
// one, hits a 429, gets a markdown answer rendered as it streams and an
// answer full of markup shown as text, and uses the embeddings and images
// tabs.
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
	// Rendered as markdown, the text ends with the paragraph's newline.
	partial, final = strings.TrimSpace(partial), strings.TrimSpace(final)
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

	// A markdown answer renders while it streams, with raw HTML as text.
	checkMarkdownAnswer(t, s, b)

	// A model answer full of markup is shown as text and runs nothing.
	b.do(t, "ask the hostile model", chromedp.Evaluate[chromedp.Void](`document.getElementById("chat-model").value = "hostile"`),
		chromedp.SendKeys(chromedp.ID("prompt"), "Write some HTML"+kb.Enter))
	got := waitFor[string](t, b, "the hostile answer", `(() => {
		const m = Array.from(document.querySelectorAll('#messages .message.assistant')).pop();
		return m && m.dataset.state === 'done' && m.querySelector('.content').textContent;
	})()`)
	if got = strings.TrimSpace(got); got != xssAnswer {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// markdownAnswer is what the markdown upstream streams: the pieces a
// rendered answer has, and raw HTML that must stay text. Everything
// before markdownGate streams at once; the rest once released.
const (
	markdownAnswer = "## Steps\n\n1. Open the **portal**\n2. Add a deployment\n\n" +
		"| model | tier |\n|:--|--:|\n| gpt-4o | 1 |\n\n" +
		"```go\nfmt.Println(\"<b>hi</b>\")\n```\n\n" +
		"Raw <b>bold</b> and <img src=x onerror=\"window.__xss = 7\"> here.\n\n" +
		"<script>window.__xss = 8</script>\n\n" +
		"[a link](javascript:window.__xss=9) and ![a picture](http://192.0.2.1/p.png)\n"
	markdownGate = "fmt.Println("
)

// markdownUpstream streams markdownAnswer as a chat answer, stopping
// before its code block ends until Release, so a test sees the answer
// rendered while it is still streaming.
type markdownUpstream struct {
	release chan struct{}
	once    sync.Once
}

func newMarkdownUpstream() *markdownUpstream {
	return &markdownUpstream{release: make(chan struct{})}
}

// Release lets every answer, now and later, stream to its end.
func (m *markdownUpstream) Release() { m.once.Do(func() { close(m.release) }) }

func (m *markdownUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(s string) {
		fmt.Fprintf(w, "data: {\"id\":\"md\",\"object\":\"chat.completion.chunk\",\"model\":\"markdown\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", s)
		w.(http.Flusher).Flush()
	}
	cut := strings.Index(markdownAnswer, markdownGate) + len(markdownGate)
	for _, line := range strings.SplitAfter(markdownAnswer[:cut], "\n") {
		chunk(line)
	}
	select {
	case <-m.release:
	case <-r.Context().Done():
		return
	}
	for _, line := range strings.SplitAfter(markdownAnswer[cut:], "\n") {
		chunk(line)
	}
	fmt.Fprint(w, "data: {\"id\":\"md\",\"object\":\"chat.completion.chunk\",\"model\":\"markdown\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":60,\"total_tokens\":65}}\n\ndata: [DONE]\n\n")
}

// checkMarkdownAnswer asks the markdown model: the heading, list, table
// and code block show while the answer is still streaming; the finished
// answer has a code block with its language and a copy button that
// copies the code; raw HTML, a javascript: link and a foreign image
// become text and an inert link, and nothing runs.
func checkMarkdownAnswer(t *testing.T, s *browserApp, b *browser) {
	t.Helper()
	b.do(t, "ask the markdown model", chromedp.Evaluate[chromedp.Void](`document.getElementById("chat-model").value = "markdown"`),
		chromedp.SendKeys(chromedp.ID("prompt"), "How do I add a deployment?"+kb.Enter))
	partial := waitFor[string](t, b, "the half-streamed answer rendered", `(() => {
		const c = document.querySelector('#messages .message.assistant.streaming .content');
		return c && c.querySelector('pre') && c.querySelector('table') &&
			[c.querySelector('h3').textContent, c.querySelectorAll('ol li').length, c.querySelector('strong').textContent, c.querySelector('th').textContent].join('|');
	})()`)
	if partial != "Steps|2|portal|model" {
		t.Errorf("while streaming: heading|items|bold|header = %q, want Steps|2|portal|model", partial)
	}
	s.markdown.Release()
	waitFor[bool](t, b, "the finished answer", `!!document.querySelector('#messages .message.assistant[data-state=done] .code-block')`)
	const answer = `document.querySelector('#messages .message.assistant[data-state=done] .content')`
	if got := eval[string](t, b, answer+`.querySelector('.code-lang').textContent`); got != "go" {
		t.Errorf("code block language label = %q, want go", got)
	}
	b.do(t, "copy the code", chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = (text) => { window.__copied = text; return Promise.resolve(); }`),
		chromedp.Click(chromedp.CSS(`#messages .message.assistant[data-state=done] button.copy-code`)))
	if got := waitFor[string](t, b, "the copied code", `window.__copied`); got != "fmt.Println(\"<b>hi</b>\")\n" {
		t.Errorf("copied %q, want the code block's text", got)
	}
	text := eval[string](t, b, answer+`.textContent`)
	for _, want := range []string{`Raw <b>bold</b> and <img src=x onerror="window.__xss = 7"> here.`, `<script>window.__xss = 8</script>`, "a link", "a picture"} {
		if !strings.Contains(text, want) {
			t.Errorf("answer text %q lacks %q", text, want)
		}
	}
	if n := eval[int](t, b, `document.querySelectorAll('#messages script, #messages img, #messages b, #messages [onerror]').length`); n != 0 {
		t.Errorf("the answer made %d script, img or b elements", n)
	}
	links := eval[[]string](t, b, `Array.from(`+answer+`.querySelectorAll('a')).map(a => a.textContent + '=' + (a.getAttribute('href') || '') + ' ' + a.rel)`)
	if want := []string{"a link= noopener noreferrer nofollow", "a picture=http://192.0.2.1/p.png noopener noreferrer nofollow"}; strings.Join(links, "|") != strings.Join(want, "|") {
		t.Errorf("answer links = %q, want %q", links, want)
	}
	if v := eval[string](t, b, `String(window.__xss)`); v != "undefined" {
		t.Errorf("the answer's markup ran: window.__xss = %s", v)
	}
	if got := eval[string](t, b, `getComputedStyle(`+answer+`.querySelector('td:last-child')).textAlign`); got != "right" {
		t.Errorf("the table's right-aligned column is aligned %s", got)
	}
}
