package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserPlaygroundResponses switches the playground to the Responses
// API, streams a reasoning model's answer through it, and shows the
// reasoning tokens the answer spent.
func TestBrowserPlaygroundResponses(t *testing.T) {
	s := startBrowserApp(t)
	b := newBrowser(t, 1280, 900)
	b.do(t, "sign in", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), browserKey+kb.Enter), chromedp.WaitVisible(chromedp.ID("workspace")))
	b.do(t, "use the Responses API with o4-mini",
		chromedp.Click(chromedp.ID("use-responses")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("chat-model").value = "o4-mini"`),
		chromedp.SendKeys(chromedp.ID("prompt"), "What is a spillway?"+kb.Enter))
	final := waitFor[string](t, b, "the finished answer", `(() => {
		const m = document.querySelector('#messages .message.assistant[data-state=done] .content');
		return m && m.textContent;
	})()`)
	if strings.TrimSpace(final) == "" {
		t.Errorf("the answer is empty")
	}
	stats := eval[string](t, b, `document.querySelector('#messages .message.assistant .stats').textContent`)
	if !regexp.MustCompile(`\d+ prompt tokens · \d+ completion tokens · [1-9]\d* reasoning tokens · first token \d+ ms`).MatchString(stats) {
		t.Errorf("answer stats = %q, want token counts with reasoning tokens", stats)
	}
	calls := eval[[]string](t, b, `performance.getEntriesByType('resource').map(e => new URL(e.name).pathname).filter(p => p.startsWith('/v1/'))`)
	if !contains(calls, "/v1/responses") || contains(calls, "/v1/chat/completions") {
		t.Errorf("the playground called %v, want /v1/responses and no chat completions", calls)
	}
}
