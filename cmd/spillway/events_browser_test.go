package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserEvent: the admin creates an event in Asia/Kolkata whose name
// and description carry markup; an attendee registers with the shared
// code from the playground, sees the event (markdown rendered, markup as
// text, times in the event's zone although the browser is in New York)
// with its caps, and chats; the admin sees the attendee, adds another
// whose key shows once with a copy button and goes when the tab is left,
// and when the event is switched off the attendee is told so.
func TestBrowserEvent(t *testing.T) {
	s := startBrowserApp(t)
	admin := newBrowser(t, 1280, 900)
	admin.zone(t, "America/New_York")
	adminSignIn(t, admin, s.url)
	openTab(t, admin, "events")

	const (
		name        = `Hack <script>window.__xss = 3</script> Night`
		description = "**Welcome** to the night.\n\n<script>window.__xss = 4</script>\n\nBring <img src=x onerror=\"window.__xss = 5\"> a laptop."
	)
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(kolkata).Truncate(time.Minute)
	start, end := now.Add(-time.Hour), now.Add(24*time.Hour)
	for id, v := range map[string]string{
		"ev-name": name, "ev-description": description,
		"ev-start": start.Format("2006-01-02T15:04"), "ev-end": end.Format("2006-01-02T15:04"),
		"ev-tz": "Asia/Kolkata", "ev-max-tokens": "64", "ev-daily": "50", "ev-models": "gpt-4o",
		"ev-org-name": "Ann", "ev-url": "https://example.com/hack", "ev-url-text": "Event site", "ev-code": "let-me-in",
	} {
		setValue(t, admin, id, v)
	}
	admin.do(t, "create the event", chromedp.Click(chromedp.ID("ev-submit")))
	created := waitFor[string](t, admin, "the event created", `!document.getElementById('event-notice').hidden && document.getElementById('event-notice').textContent`)
	code := regexp.MustCompile(`Its code is (\S+)\.$`).FindStringSubmatch(created)
	if code == nil {
		t.Fatalf("notice %q names no event code", created)
	}
	eventID := code[1]
	row := waitFor[string](t, admin, "the event row", `(() => { const r = document.querySelector('#events-table tr[data-id="`+eventID+`"]'); return r && r.textContent; })()`)
	if !strings.Contains(row, name) {
		t.Errorf("event row %q lacks the name as text", row)
	}
	// Start and end are the event's wall clock, its zone named, UTC on
	// hover, whatever zone the browser is in.
	checkZoned(t, admin, `#events-table tr[data-id="`+eventID+`"] td.start time`, start)

	// An attendee registers in the playground and lands signed in.
	p := newBrowser(t, 1280, 900)
	p.zone(t, "America/New_York")
	p.do(t, "open the playground", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.Click(chromedp.CSS("#register summary")), chromedp.WaitVisible(chromedp.ID("reg-event")))
	setValue(t, p, "reg-event", eventID)
	setValue(t, p, "reg-code", "let-me-in")
	p.do(t, "register", chromedp.SendKeys(chromedp.ID("reg-attendee"), "bob@example.com"+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("workspace")), chromedp.WaitVisible(chromedp.ID("event")))

	notice := eval[string](t, p, `document.getElementById('workspace-notice').textContent`)
	if key := eval[string](t, p, `sessionStorage.getItem('spillway.key')`); key == "" || !strings.Contains(notice, key) || !strings.Contains(notice, "bob@example.com") {
		t.Errorf("after registering: notice %q, want the attendee and the key to keep", notice)
	}
	if got := eval[string](t, p, `document.getElementById('event-name').textContent`); got != name {
		t.Errorf("event name shown as %q, want the text %q", got, name)
	}
	desc := waitFor[string](t, p, "the description", `(() => { const d = document.getElementById('event-description'); return d.textContent.length > 0 && d.textContent; })()`)
	for _, want := range []string{"<script>window.__xss = 4</script>", `<img src=x onerror="window.__xss = 5">`} {
		if !strings.Contains(desc, want) {
			t.Errorf("description text %q lacks %q shown as text", desc, want)
		}
	}
	if n := eval[int](t, p, `document.querySelectorAll('#event script, #event img').length`); n != 0 {
		t.Errorf("the event card holds %d script/img elements", n)
	}
	if got := eval[string](t, p, `(document.querySelector('#event-description strong') || {}).textContent || ''`); got != "Welcome" {
		t.Errorf("markdown **Welcome** rendered as %q, want <strong>Welcome</strong>", got)
	}
	if v := eval[string](t, p, `String(window.__xss)`); v != "undefined" {
		t.Errorf("the event's markup ran: window.__xss = %s", v)
	}
	checkZoned(t, p, `#event-facts time`, start)
	if when := eval[string](t, p, `document.querySelector('#event-facts dd').textContent`); !strings.HasSuffix(when, "(Asia/Kolkata)") {
		t.Errorf("event dates %q do not name the event's zone", when)
	}
	if max := eval[string](t, p, `document.getElementById('max-tokens').max`); max != "64" {
		t.Errorf("max tokens slider bound = %s, want the event's cap 64", max)
	}
	if models := eval[[]string](t, p, `Array.from(document.querySelectorAll('#chat-model option')).map(o => o.value)`); len(models) != 1 || models[0] != "gpt-4o" {
		t.Errorf("attendee chat models = %v, want the event's [gpt-4o]", models)
	}
	p.do(t, "chat", chromedp.SendKeys(chromedp.ID("prompt"), "Hello"+kb.Enter))
	waitFor[bool](t, p, "the answer", `!!document.querySelector('.message.assistant[data-state=done]')`)

	// The admin sees the attendee and adds another, whose key shows once.
	admin.do(t, "attendees", chromedp.WaitVisible(chromedp.CSS(`#events-table tr[data-id="`+eventID+`"] td.actions button`)), clickInPage(`#events-table tr[data-id="`+eventID+`"] td.actions button`),
		chromedp.WaitVisible(chromedp.ID("attendees-card")))
	waitFor[bool](t, admin, "bob in the list", `document.getElementById('attendees-table').textContent.includes('bob@example.com')`)
	if zone := eval[string](t, admin, `document.getElementById('attendees-zone').textContent`); !strings.Contains(zone, "Asia/Kolkata") {
		t.Errorf("the attendees table says %q, want the zone its times are in", zone)
	}
	setValue(t, admin, "attendee-name", "carol@example.com")
	admin.do(t, "add an attendee", chromedp.Click(chromedp.CSS("#attendee-form button[type=submit]")))
	carol := waitFor[string](t, admin, "carol's key", `(() => { const n = document.getElementById('attendee-key'); return !n.hidden && n.textContent.includes('carol') && n.querySelector('.secret-value').textContent; })()`)
	if !strings.HasPrefix(carol, "sk-") {
		t.Errorf("attendee key shown as %q", carol)
	}
	checkCopySecret(t, admin, "#attendee-key", carol)
	waitFor[bool](t, admin, "carol in the list", `document.getElementById('attendees-table').textContent.includes('carol@example.com')`)
	// The events table is redrawn last, with two attendees.
	waitFor[bool](t, admin, "two attendees", `(() => { const r = document.querySelector('#events-table tr[data-id="`+eventID+`"]'); return !!r && r.children[5].textContent === '2'; })()`)

	// The shown-once key goes when its tab is left.
	admin.do(t, "leave the events tab", chromedp.Click(chromedp.ID("tab-keys")), chromedp.Click(chromedp.ID("tab-events")))
	if n := eval[string](t, admin, `(() => { const n = document.getElementById('attendee-key'); return n.hidden ? '' : n.textContent; })()`); n != "" {
		t.Errorf("after leaving the tab the key banner still says %q", n)
	}
	if strings.Contains(eval[string](t, admin, `document.body.textContent`), carol) {
		t.Error("after leaving the tab the key is still on the page")
	}

	// Switched off, the event refuses the attendee with a 403 that says so.
	admin.do(t, "deactivate", chromedp.WaitVisible(chromedp.CSS(`#events-table tr[data-id="`+eventID+`"] td.actions button.secondary`)),
		clickInPage(`#events-table tr[data-id="`+eventID+`"] td.actions button.secondary`))
	waitFor[bool](t, admin, "inactive", `(() => { const r = document.querySelector('#events-table tr[data-id="`+eventID+`"]'); return !!r && r.children[6].textContent === 'no'; })()`)
	giveUp := time.Now().Add(browserTimeout) // liveness bound: the keyring reloads
	for attendeeStatus(t, s.url, p) != http.StatusForbidden {
		if time.Now().After(giveUp) {
			t.Fatal("the switched-off event still admits its attendee")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.do(t, "chat after the event ended", chromedp.SendKeys(chromedp.ID("prompt"), "Still on?"+kb.Enter))
	msg := waitFor[string](t, p, "the 403 message", `!document.getElementById('chat-error').hidden && document.getElementById('chat-error').textContent`)
	if !strings.Contains(msg, "403") || !strings.Contains(msg, "not active") {
		t.Errorf("inactive event: message %q, want the 403 and that the event is not active", msg)
	}
}

// attendeeStatus sends one chat with the playground tab's key.
func attendeeStatus(t *testing.T, base string, p *browser) int {
	t.Helper()
	key := eval[string](t, p, `sessionStorage.getItem('spillway.key')`)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkZoned: the <time> at sel shows the instant want as a wall clock of
// want's zone (as the en-US locale writes it), and UTC on hover.
func checkZoned(t *testing.T, b *browser, sel string, want time.Time) {
	t.Helper()
	got := waitFor[[]string](t, b, sel, `(() => { const e = document.querySelector('`+sel+`'); return e && [e.textContent.replace(/\u202f/g, ' '), e.title]; })()`)
	if clock := want.Format("3:04 PM"); !strings.Contains(got[0], clock) || !strings.Contains(got[0], want.Format("Jan 2")) {
		t.Errorf("%s shows %q, want %s on %s, the event's own wall clock", sel, got[0], clock, want.Format("Jan 2"))
	}
	if utc := want.UTC().Format("2006-01-02 15:04") + " UTC"; got[1] != utc {
		t.Errorf("%s title = %q, want %q", sel, got[1], utc)
	}
}

// checkCopySecret: the banner at sel has a copy button that puts the
// secret on the clipboard.
func checkCopySecret(t *testing.T, b *browser, sel, secret string) {
	t.Helper()
	b.do(t, "copy the key", chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = (text) => { window.__copied = text; return Promise.resolve(); }`),
		chromedp.WaitVisible(chromedp.CSS(sel+` button.copy-secret`)), clickInPage(sel+` button.copy-secret`))
	if got := waitFor[string](t, b, "the copied key", `window.__copied`); got != secret {
		t.Errorf("the copy button copied %q, want the key %q", got, secret)
	}
	if got := waitFor[string](t, b, "the button saying so", `document.querySelector('`+sel+` button.copy-secret').textContent`); got != "Copied" {
		t.Errorf("after copying the button says %q, want Copied", got)
	}
}
