package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCSP: in a real browser the pages' Content-Security-Policy
// refuses inline script and other origins, and the harness hears of each
// violation, so the other browser tests' silence means the pages need
// nothing the policy forbids.
func TestBrowserCSP(t *testing.T) {
	s := startBrowserApp(t)
	b := newBrowser(t, 1280, 900)
	b.do(t, "open the playground", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("key")))
	b.do(t, "inject", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.createElement('script');
		s.textContent = 'window.__inline = 1';
		document.body.append(s);
		const i = document.createElement('img');
		i.src = 'http://192.0.2.1/x.png';
		document.body.append(i);
	})()`))
	if v := eval[string](t, b, `String(window.__inline)`); v != "undefined" {
		t.Errorf("an inline script ran: window.__inline = %s", v)
	}
	var got []string
	giveUp := time.After(browserTimeout) // liveness bound
	for len(got) < 2 {
		select {
		case <-giveUp:
			t.Fatalf("violations heard: %q; want the inline script and the foreign image", got)
		default:
		}
		b.mu.Lock()
		got = append([]string(nil), b.problems...)
		b.mu.Unlock()
		_ = eval[bool](t, b, `true`) // let events arrive
	}
	b.mu.Lock()
	b.problems = nil // expected here; any other test would fail on them
	b.mu.Unlock()
	joined := strings.Join(got, "\n")
	for _, want := range []string{"script", "img-src"} {
		if !strings.Contains(joined, want) {
			t.Errorf("violations %q do not mention %s", joined, want)
		}
	}
}
