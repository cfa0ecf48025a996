package main

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeSource is axe-core, vendored for the tests (testdata/axe/README.md).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeSum is the SHA-256 testdata/axe/README.md records for axeSource.
const axeSum = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

// axeRun runs axe-core on the whole document and answers its violations,
// each with up to five of the elements it names.
const axeRun = `axe.run(document, { resultTypes: ['violations'] }).then(r => JSON.stringify(r.violations.map(v => ({
	id: v.id, impact: v.impact, help: v.help,
	nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\s+/g, ' ')),
}))))`

// axe checks the page as it is now and fails the test on any violation,
// whatever its impact. The script is injected through the DevTools
// protocol, which the page's CSP does not govern, once per page load.
func (b *browser) axe(t *testing.T, view string) {
	t.Helper()
	if !eval[bool](t, b, `typeof axe !== 'undefined'`) {
		b.do(t, "inject axe-core", chromedp.Evaluate[chromedp.Void](axeSource+";undefined"))
	}
	out, err := runStep(b, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", view, err)
	}
	var violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal([]byte(out), &violations); err != nil {
		t.Fatalf("%s: axe answered %q: %v", view, out, err)
	}
	for _, v := range violations {
		t.Errorf("%s: axe %s (%s): %s\n\t%s", view, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// overflow is how many pixels the page is wider than the screen.
const overflow = `document.documentElement.scrollWidth - window.innerWidth`

// TestBrowserAccessibility walks every view of the playground and the
// portal at 1440×900 and at a phone's 390×844, signed in and out, with
// the keyboard where a user would: axe-core reports no violation of any
// impact anywhere, and on the phone no view is wider than the screen, the
// portal's tabs are all on screen, its tables are cards, and the
// playground's settings fold above the conversation.
func TestBrowserAccessibility(t *testing.T) {
	if sum := sha256.Sum256([]byte(axeSource)); hex.EncodeToString(sum[:]) != axeSum {
		t.Fatalf("testdata/axe/axe.min.js is not the axe-core its README records")
	}
	s := startBrowserApp(t)
	s.markdown.Release()
	deadDeployment(t, s)
	eventID, attendee := a11yEvent(t, s)
	b := newBrowser(t, 1440, 900)
	for _, tc := range []struct {
		name          string
		width, height int64
		phone         bool
	}{
		{"desktop", 1440, 900, false},
		{"phone", 390, 844, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []chromedp.EmulateViewportOption{}
			if tc.phone {
				opts = append(opts, chromedp.EmulateMobile)
			}
			b.do(t, "viewport", chromedp.EmulateViewport(tc.width, tc.height, opts...), chromedp.Navigate(s.url+"/"))
			if w := eval[int64](t, b, `window.innerWidth`); w != tc.width {
				t.Fatalf("viewport width = %d, want %d", w, tc.width)
			}
			walkPlayground(t, s, b, attendee, tc.phone)
			walkPortal(t, s, b, eventID, tc.phone)
		})
	}
}

// a11yEvent makes an event with an attendee whose chats give the report
// and the usage charts something to draw, and returns its id and the
// attendee's key.
func a11yEvent(t *testing.T, s *browserApp) (id, key string) {
	t.Helper()
	now := time.Now().UTC()
	status, ev := call(t, http.MethodPost, s.url+"/admin/v1/events", browserAdmin, map[string]any{
		"name": "Accessible hack night", "start": now.Add(-time.Hour).Format(time.RFC3339), "end": now.Add(24 * time.Hour).Format(time.RFC3339),
		"time_zone": "Asia/Kolkata", "max_token_cap": 64, "daily_request_cap": 50, "shared_code": "let-me-in",
		"description": "# Welcome\n\nBring a **laptop**.\n\n#### Rules\n\nBe kind.",
	})
	if status != http.StatusCreated {
		t.Fatalf("create the event: status %d, %v", status, ev)
	}
	id, _ = ev["id"].(string)
	status, att := call(t, http.MethodPost, s.url+"/admin/v1/events/"+id+"/attendees", browserAdmin, map[string]any{"attendee": "ann@example.com"})
	key, _ = att["key"].(string)
	if status != http.StatusCreated || key == "" {
		t.Fatalf("add an attendee: status %d, %v", status, att)
	}
	for range 2 {
		if code := chatWith(t, s.url, key, "gpt-4o"); code != http.StatusOK {
			t.Fatalf("attendee chat: status %d", code)
		}
	}
	eventually(t, "the usage records", func() bool { return s.app.usage.Stats().Written >= 2 })
	return id, key
}

// noOverflow fails the test when the page is wider than a phone's screen.
func noOverflow(t *testing.T, b *browser, phone bool, view string) {
	t.Helper()
	if !phone {
		return
	}
	if w := eval[int](t, b, overflow); w > 0 {
		t.Errorf("%s: the page is %d px wider than the screen", view, w)
	}
}

// check runs axe-core and the overflow checks: no table scrolls
// sideways, its state or actions out of sight, and on a phone the page
// is no wider than the screen.
func check(t *testing.T, b *browser, phone bool, view string) {
	t.Helper()
	b.axe(t, view)
	noOverflow(t, b, phone, view)
	if wide := eval[[]string](t, b, `Array.from(document.querySelectorAll('.table-wrap')).filter(w => w.checkVisibility() && w.scrollWidth > w.clientWidth + 1).map(w => w.getAttribute('aria-label'))`); len(wide) > 0 {
		t.Errorf("%s: these tables scroll sideways: %v", view, wide)
	}
}

// walkPlayground signs in with an attendee's key, so the event shows too.
func walkPlayground(t *testing.T, s *browserApp, b *browser, key string, phone bool) {
	b.do(t, "open the playground", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.Click(chromedp.CSS("#register summary")), chromedp.WaitVisible(chromedp.ID("reg-event")))
	check(t, b, phone, "playground sign-in")

	// Keyboard only: the key field has focus, Enter signs in, the
	// message box has focus, Enter sends.
	b.do(t, "sign in from the keyboard", chromedp.Evaluate[chromedp.Void](`document.getElementById('key').focus()`),
		chromedp.KeyEvent(key+kb.Enter), chromedp.WaitVisible(chromedp.ID("workspace")), chromedp.WaitVisible(chromedp.ID("event")))
	waitFor[bool](t, b, "the event's description", `!!document.querySelector('#event-description strong')`)
	if got := waitFor[string](t, b, "focus in the message box", `document.activeElement.id === 'prompt' && 'prompt'`); got != "prompt" {
		t.Errorf("after signing in, focus is on #%s, want the message box", got)
	}
	b.do(t, "pick the markdown model", chromedp.SetValue(chromedp.ID("chat-model"), "markdown"),
		chromedp.Focus(chromedp.ID("prompt")), chromedp.KeyEvent("Show me some markdown"+kb.Enter))
	waitFor[bool](t, b, "the answer", `!!document.querySelector('#messages .message.assistant[data-state=done] .code-block')`)

	if phone {
		// The settings sit above the conversation, folded, their
		// summary in view; the toggle opens them.
		layout := eval[[]float64](t, b, `[document.getElementById('setup').getBoundingClientRect().top, document.querySelector('.conversation').getBoundingClientRect().top]`)
		if layout[0] >= layout[1] {
			t.Errorf("on a phone the settings start at %v px, the conversation at %v px: want the settings above", layout[0], layout[1])
		}
		if eval[bool](t, b, `document.getElementById('chat-model').checkVisibility()`) {
			t.Error("on a phone the settings are unfolded before being asked for")
		}
		b.do(t, "unfold the settings", chromedp.Click(chromedp.ID("setup-toggle")), chromedp.WaitVisible(chromedp.ID("chat-model")))
		check(t, b, phone, "playground settings unfolded")
		b.do(t, "fold them", chromedp.Click(chromedp.ID("setup-toggle")), chromedp.WaitNotVisible(chromedp.ID("chat-model")))
	}
	check(t, b, phone, "playground chat with a markdown answer")
	b.do(t, "scroll to the chat", chromedp.Evaluate[chromedp.Void](`document.querySelector('[role=tablist]').scrollIntoView()`))
	if phone {
		b.screenshotScreen(t, "playground-phone")
	} else {
		b.screenshotScreen(t, "playground-answer")
	}

	b.do(t, "view code", chromedp.Click(chromedp.ID("view-code")), chromedp.WaitVisible(chromedp.ID("code-sample")))
	check(t, b, phone, "view code")
	b.do(t, "close it", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("code-dialog")))

	// Tabs by arrow keys.
	b.do(t, "images tab from the keyboard", chromedp.Focus(chromedp.ID("tab-chat")), chromedp.KeyEvent(kb.ArrowRight),
		chromedp.WaitVisible(chromedp.ID("images-prompt")), chromedp.SendKeys(chromedp.ID("images-prompt"), "a lighthouse"),
		chromedp.Click(chromedp.CSS("#images-form button[type=submit]")))
	waitFor[bool](t, b, "the image", `(() => { const i = document.querySelector('#images-result img'); return !!i && i.complete && i.naturalWidth > 0; })()`)
	check(t, b, phone, "playground images")
	b.do(t, "embeddings tab from the keyboard", chromedp.Focus(chromedp.ID("tab-images")), chromedp.KeyEvent(kb.ArrowRight),
		chromedp.WaitVisible(chromedp.ID("embeddings-input")), chromedp.SendKeys(chromedp.ID("embeddings-input"), "spillway"),
		chromedp.Click(chromedp.CSS("#embeddings-form button[type=submit]")))
	waitFor[bool](t, b, "the embedding", `!!document.getElementById('embedding-dimensions')`)
	check(t, b, phone, "playground embeddings")
	b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("key")))
}

func walkPortal(t *testing.T, s *browserApp, b *browser, eventID string, phone bool) {
	b.do(t, "open the portal", chromedp.Navigate(s.url+"/admin/"), chromedp.WaitVisible(chromedp.ID("token")))
	check(t, b, phone, "portal sign-in")
	b.do(t, "a wrong token", chromedp.KeyEvent("sk-wrong"+kb.Enter), chromedp.WaitVisible(chromedp.ID("login-error")))
	check(t, b, phone, "portal sign-in refused")
	// The token field has focus again: the keyboard signs in.
	b.do(t, "sign in from the keyboard", chromedp.KeyEvent(browserAdmin+kb.Enter), chromedp.WaitVisible(chromedp.ID("tab-deployments")))
	waitFor[bool](t, b, "the deployments", `!!document.querySelector('#deployments-table tr[data-id="gpt4o-dead"] .state')`)
	check(t, b, phone, "portal deployments")
	if phone {
		// Every tab is on screen, inside the tab bar.
		if off := eval[[]string](t, b, `(() => {
			const bar = document.querySelector('[role=tablist]').getBoundingClientRect();
			return Array.from(document.querySelectorAll('[role=tab]')).filter(tab => {
				const r = tab.getBoundingClientRect();
				return r.left < 0 || r.right > window.innerWidth || r.left < bar.left || r.right > bar.right || !tab.checkVisibility();
			}).map(tab => tab.textContent);
		})()`); len(off) > 0 {
			t.Errorf("on a phone these tabs are not all on screen: %v", off)
		}
		// Rows are cards: each cell on its own line, named by its column.
		card := eval[[]string](t, b, `(() => { const r = document.querySelector('#deployments-table tr[data-id="gpt4o-dead"]'); return [getComputedStyle(r).display, getComputedStyle(r.querySelector('td.state-cell'), '::before').content]; })()`)
		if card[0] != "block" || card[1] != `"State"` {
			t.Errorf("on a phone a deployment row is display %s with a state label %s, want a card with the column's name", card[0], card[1])
		}
		b.do(t, "scroll to the dead deployment", chromedp.Evaluate[chromedp.Void](`document.querySelector('#deployments-table tr[data-id="gpt4o-dead"]').scrollIntoView({block: 'center'})`))
		b.screenshotScreen(t, "admin-phone")
	}

	b.do(t, "events from the keyboard", chromedp.Focus(chromedp.ID("tab-deployments")), chromedp.KeyEvent(kb.ArrowRight))
	// Focus moved by the keyboard is visible.
	if got := eval[string](t, b, `document.activeElement.id + ' ' + getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth`); got != "tab-events solid 3px" {
		t.Errorf("after an arrow key, focus is %q, want the events tab outlined", got)
	}
	row := `#events-table tr[data-id="` + eventID + `"]`
	b.do(t, "attendees and report", chromedp.WaitVisible(chromedp.CSS(row+" button.attendees")),
		chromedp.Focus(chromedp.CSS(row+" button.attendees")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("attendees-card")),
		chromedp.Focus(chromedp.CSS(row+" button.report")), chromedp.KeyEvent(kb.Enter))
	waitFor[bool](t, b, "the report", `document.querySelectorAll('#report-requests svg rect.bar').length > 0 && document.querySelectorAll('#attendees-table tbody tr').length > 0`)
	check(t, b, phone, "portal events, attendees and report")

	// The tab settles first, so that the check below sees the whole list.
	openTab(t, b, "keys")
	setValue(t, b, "key-name", "team-a")
	b.do(t, "create a key", chromedp.Click(chromedp.CSS("#key-form button[type=submit]")))
	waitFor[bool](t, b, "the new key", `!document.getElementById('key-created').hidden && document.querySelectorAll('#keys-table tbody tr').length > 0`,
		`'page error: ' + JSON.stringify(document.getElementById('admin-error').textContent) + ', key form active: ' + (document.activeElement && document.activeElement.outerHTML.slice(0, 120))`)
	check(t, b, phone, "portal keys with a new key shown")

	openTab(t, b, "teams")
	setValue(t, b, "team-name", "Search")
	setValue(t, b, "team-rpm", "60")
	b.do(t, "create a team", chromedp.Click(chromedp.ID("team-submit")))
	waitFor[bool](t, b, "the new team", `document.querySelectorAll('#teams-table tbody tr[data-id]').length > 0`)
	// Clicked from the page: the table is redrawn after a save, which can
	// swap the row under a node id chromedp looked up a moment before.
	b.do(t, "its keys", chromedp.Evaluate[chromedp.Void](`document.querySelector('#teams-table tbody tr[data-id] button.team-keys').click()`), chromedp.WaitVisible(chromedp.ID("team-keys-card")))
	check(t, b, phone, "portal teams with a team's keys")

	b.do(t, "usage", chromedp.Click(chromedp.ID("tab-usage")))
	waitFor[bool](t, b, "the charts", `document.querySelectorAll('#chart-requests svg rect.bar').length > 0 && document.querySelectorAll('#usage-table tbody tr').length > 0`)
	check(t, b, phone, "portal usage")
	b.do(t, "sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("token")))
}

// screenshotScreen saves what is on the screen (not the whole page, which
// on a phone is many screens long) as docs/screenshots/NAME.png when
// SPILLWAY_SCREENSHOTS is set.
func (b *browser) screenshotScreen(t *testing.T, name string) {
	t.Helper()
	if os.Getenv("SPILLWAY_SCREENSHOTS") == "" {
		return
	}
	ctx, cancel := b.step()
	defer cancel()
	shot, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name+".png"), shot.Data, 0o644); err != nil {
		t.Fatal(err)
	}
}
