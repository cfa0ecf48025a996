package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/spillwayhq/spillway/internal/testenv"
)

// TestBrowserDemo follows what `spillway demo` prints: the playground URL
// opens in a browser, the printed key signs in, and a chat streams back
// from the simulated deployments. Its --data directory does not exist
// beforehand.
func TestBrowserDemo(t *testing.T) {
	testenv.Chromium(t)
	ctx, stop := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	// --data names a directory the demo has to make.
	data := filepath.Join(t.TempDir(), "not", "yet")
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--latency", "0", "--log-level", "warn", "--data", data}, &out, io.Discard)
	}()
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("demo exit code = %d, want 0", code)
		}
	}()
	playRe := regexp.MustCompile(`Playground:\s+(http://\S+/)`)
	keyRe := regexp.MustCompile(`Client key:\s+(sk-\S+)`)
	attendeeRe := regexp.MustCompile(`Attendee key:\s+(sk-\S+)`)
	var playground, key, attendee string
	giveUp := time.Now().Add(browserTimeout) // liveness bound
	for playground == "" || key == "" || attendee == "" {
		if time.Now().After(giveUp) {
			t.Fatalf("demo printed no playground URL and key: %s", out.String())
		}
		select {
		case code := <-done:
			t.Fatalf("demo exited with %d: %s", code, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := playRe.FindStringSubmatch(out.String()); m != nil {
			playground = m[1]
		}
		if m := keyRe.FindStringSubmatch(out.String()); m != nil {
			key = m[1]
		}
		if m := attendeeRe.FindStringSubmatch(out.String()); m != nil {
			attendee = m[1]
		}
	}

	if _, err := os.Stat(filepath.Join(data, "spillway.db")); err != nil {
		t.Errorf("demo --data %s: %v", data, err)
	}

	b := newBrowser(t, 1440, 900)
	b.do(t, "open the printed playground", chromedp.Navigate(playground), chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key+kb.Enter), chromedp.WaitVisible(chromedp.ID("workspace")))
	b.do(t, "chat", chromedp.SendKeys(chromedp.ID("prompt"), "Hello"+kb.Enter))
	waitFor[bool](t, b, "the answer", `!!document.querySelector('.message.assistant[data-state=done]')`)
	models := eval[[]string](t, b, `Array.from(document.querySelectorAll('#chat-model option')).map(o => o.value)`)
	if !contains(models, "gpt-4o") {
		t.Errorf("demo chat models = %v, want gpt-4o", models)
	}

	// The printed attendee key shows the demo event and its caps.
	b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("key")))
	b.do(t, "sign in as the attendee", chromedp.SendKeys(chromedp.ID("key"), attendee+kb.Enter), chromedp.WaitVisible(chromedp.ID("event")))
	if name := eval[string](t, b, `document.getElementById('event-name').textContent`); name != demoEventName {
		t.Errorf("event name = %q, want %q", name, demoEventName)
	}
	waitFor[bool](t, b, "the rendered description", `!!document.querySelector('#event-description strong')`)
	if max := eval[string](t, b, `document.getElementById('max-tokens').max`); max != "512" {
		t.Errorf("max tokens bound = %s, want the demo event's 512", max)
	}
	b.do(t, "chat as the attendee", chromedp.SendKeys(chromedp.ID("prompt"), "What can I try here?"+kb.Enter))
	waitFor[bool](t, b, "the answer", `!!document.querySelector('.message.assistant[data-state=done]')`)
	b.screenshot(t, "playground")
}
