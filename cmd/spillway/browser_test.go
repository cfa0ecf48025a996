package main

// End-to-end tests of the playground and the admin portal in headless
// Chromium, driven with chromedp against the real app and simulated
// upstreams. Without Chromium they skip, except under CI, where a missing
// browser fails: .ci/run installs Debian's chromium.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/testenv"
)

const (
	browserKey   = "sk-browser-test-key"
	browserAdmin = "sk-admin-browser-test"
	// browserTimeout bounds each step of a browser test (an action, a
	// wait, an evaluation) and each wait for the app: a liveness bound,
	// not a performance assertion. It bounds no whole test, which takes
	// many times longer on a loaded machine than on an idle one.
	browserTimeout = 90 * time.Second
	// xssAnswer is what the hostile upstream answers.
	xssAnswer = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">`
)

// browserApp is the gateway with its upstreams, as the browser sees it.
type browserApp struct {
	url  string
	app  *app
	up   *httptest.Server // a healthy simulated Azure OpenAI resource
	busy *mock.Server     // answers 429 to everything
	// markdown streams a markdown answer, its second half once released.
	markdown *markdownUpstream
}

// startBrowserApp serves the app over HTTP with these models:
// gpt-4o (streams slowly enough to watch), gpt-4o-busy (always 429),
// hostile (answers with markup), markdown (answers in markdown, see
// markdownUpstream), text-embedding-3-small and dall-e-3.
func startBrowserApp(t *testing.T) *browserApp {
	t.Helper()
	up := httptest.NewServer(mock.New(mock.Options{Name: "up", TokensPerSecond: 12}))
	t.Cleanup(up.Close)
	busy := mock.New(mock.Options{Name: "busy", Faults: []mock.Fault{{Kind: mock.FaultStatus, Status: http.StatusTooManyRequests, RetryAfter: 42 * time.Second}}})
	busySrv := httptest.NewServer(busy)
	t.Cleanup(busySrv.Close)
	hostile := httptest.NewServer(http.HandlerFunc(hostileUpstream))
	t.Cleanup(hostile.Close)
	md := newMarkdownUpstream()
	mdSrv := httptest.NewServer(md)
	t.Cleanup(mdSrv.Close)
	t.Cleanup(md.Release)

	dep := func(id, model, class, endpoint string) config.Deployment {
		return config.Deployment{ID: id, Model: model, Class: class, Provider: config.ProviderAzure, Endpoint: endpoint, Deployment: model, APIKey: "k"}
	}
	cfg := &config.Config{
		Store:      "sqlite://" + filepath.Join(t.TempDir(), "spillway.db"),
		AdminToken: browserAdmin,
		Keys:       []config.Key{{Key: browserKey, Name: "browser"}},
		Deployments: []config.Deployment{
			dep("gpt4o-up", "gpt-4o", config.ClassChat, up.URL),
			dep("o4-up", "o4-mini", config.ClassChat, up.URL),
			dep("gpt4o-busy", "gpt-4o-busy", config.ClassChat, busySrv.URL),
			dep("hostile", "hostile", config.ClassChat, hostile.URL),
			dep("markdown", "markdown", config.ClassChat, mdSrv.URL),
			dep("embed-up", "text-embedding-3-small", config.ClassEmbeddings, up.URL),
			dep("dalle-up", "dall-e-3", config.ClassImages, up.URL),
		},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secret := make([]byte, 32)
	a, err := newApp(ctx, cfg, secret, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.usage.Run(bg) }()
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		a.close(ctx)
		stop()
		wg.Wait()
	})
	return &browserApp{url: srv.URL, app: a, up: up, busy: busy, markdown: md}
}

// hostileUpstream streams a chat answer made of markup, as a model might
// write when asked to.
func hostileUpstream(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	for _, part := range []string{xssAnswer[:20], xssAnswer[20:]} {
		fmt.Fprintf(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"hostile\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", part)
		w.(http.Flusher).Flush()
	}
	fmt.Fprint(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"hostile\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9,\"total_tokens\":12}}\n\ndata: [DONE]\n\n")
}

// browser is one headless Chromium tab and what it reported.
type browser struct {
	// ctx is the tab's context. It has no deadline, since the browser
	// lives as long as it: each step bounds itself with step or runStep.
	ctx context.Context
	mu  sync.Mutex
	// problems are uncaught exceptions and CSP violations.
	problems []string
}

// newBrowser starts a tab of the given width; it closes with the test.
func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	path := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser reported: %s", p)
		}
	})
	b.ctx = ctx
	// The first Run starts the browser and ties it to its context: this
	// one, not a step's, whose deadline would close the browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// step is the tab's context for one step, bounded by browserTimeout.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, browserTimeout)
}

// runStep runs one action on the tab within browserTimeout.
func runStep[T any](b *browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := b.step()
	defer cancel()
	return chromedp.Run(ctx, a)
}

func (b *browser) listen(ev any) {
	var problem string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		problem = "uncaught exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			problem += " " + e.ExceptionDetails.Exception.Description
		}
	case *log.EventEntryAdded:
		if strings.Contains(e.Entry.Text, "Content Security Policy") {
			problem = "CSP violation: " + e.Entry.Text
		}
	}
	if problem != "" {
		b.mu.Lock()
		b.problems = append(b.problems, problem)
		b.mu.Unlock()
	}
}

// do runs actions, failing the test on error.
func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// clickInPage clicks what sel names from the page's own script. The
// portal redraws its tables after each change and on each tab, which can
// replace a row between chromedp finding a node and clicking it ("Could
// not find node with given id"); a click from the page cannot miss so.
// Put a chromedp.WaitVisible(chromedp.CSS(sel)) before it.
func clickInPage(sel string) chromedp.Action[chromedp.Void] {
	q := strconv.Quote(sel)
	return chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector(` + q + `); if (!el) throw new Error('nothing matches ' + ` + q + `); el.click(); })()`)
}

// eval evaluates a JavaScript expression.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	v, err := runStep(b, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// setValue sets a form field's value as a script would.
func setValue(t *testing.T, b *browser, id, v string) {
	t.Helper()
	if _, err := runStep(b, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.getElementById(%q).value = %q", id, v))); err != nil {
		t.Fatalf("set #%s: %v", id, err)
	}
}

// waitFor polls a JavaScript expression until it is truthy and returns
// its value. When it fails, the page is asked what explain evaluates to
// (its error line, say) for the failure's message.
func waitFor[T any](t *testing.T, b *browser, what, expr string, explain ...string) T {
	t.Helper()
	v, err := runStep(b, chromedp.Poll[T](expr, chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(browserTimeout)))
	if err != nil {
		for _, e := range explain {
			if why, xerr := runStep(b, chromedp.Evaluate[string](e)); xerr == nil {
				err = fmt.Errorf("%w (%s)", err, why)
			}
		}
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return v
}

// screenshot saves the page to docs/screenshots/NAME.png when
// SPILLWAY_SCREENSHOTS is set (the README's pictures).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	if os.Getenv("SPILLWAY_SCREENSHOTS") == "" {
		return
	}
	png, err := runStep(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// zone sets the time zone and locale the tab's pages see: what a browser
// elsewhere shows, with the date formats of en-US.
func (b *browser) zone(t *testing.T, tz string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tz}); err != nil {
		t.Fatalf("time zone %s: %v", tz, err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en-US"}); err != nil {
		t.Fatalf("locale en-US: %v", err)
	}
}
