package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserEventReport: an attendee's traffic shows in the portal's
// report of the event, opened from the keyboard on a phone-width screen,
// with the event's name (markup included) as text; the event's edit form
// is filled from the event, shows the API's refusal, and saves a new cap
// without moving anything it was not asked to change.
func TestBrowserEventReport(t *testing.T) {
	s := startBrowserApp(t)
	const (
		name     = `Report <script>window.__xss = 6</script> Night`
		zone     = "Australia/Sydney"
		requests = 3
	)
	now := time.Now().UTC()
	start, end := now.Add(-time.Hour).Truncate(time.Second), now.Add(24*time.Hour).Truncate(time.Second)
	status, ev := call(t, http.MethodPost, s.url+"/admin/v1/events", browserAdmin, map[string]any{
		"name": name, "start": start.Format(time.RFC3339), "end": end.Format(time.RFC3339), "time_zone": zone,
		"max_token_cap": 64, "daily_request_cap": 50, "models": []string{"gpt-4o"}, "shared_code": "let-me-in",
	})
	if status != http.StatusCreated {
		t.Fatalf("create the event: status %d, %v", status, ev)
	}
	eventID, _ := ev["id"].(string)
	status, att := call(t, http.MethodPost, s.url+"/admin/v1/events/"+eventID+"/attendees", browserAdmin, map[string]any{"attendee": "bob@example.com"})
	key, _ := att["key"].(string)
	if status != http.StatusCreated || key == "" {
		t.Fatalf("add an attendee: status %d, %v", status, att)
	}
	for range requests {
		if code := chatWith(t, s.url, key, "gpt-4o"); code != http.StatusOK {
			t.Fatalf("attendee chat: status %d, want 200", code)
		}
	}
	// Usage is written in batches after the response: wait until the
	// report counts every request.
	eventually(t, "the report to count the attendee's requests", func() bool {
		_, rep := call(t, http.MethodGet, s.url+"/admin/v1/events/"+eventID+"/report", browserAdmin, nil)
		totals, _ := rep["totals"].(map[string]any)
		return totals["requests"] == float64(requests)
	})

	b := newBrowser(t, 390, 844)
	b.do(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	adminSignIn(t, b, s.url)
	b.do(t, "open events", chromedp.Click(chromedp.ID("tab-events")))
	row := `#events-table tr[data-id="` + eventID + `"]`
	b.do(t, "open the report from the keyboard", chromedp.WaitVisible(chromedp.CSS(row+` button.report`)),
		chromedp.Focus(chromedp.CSS(row+` button.report`)), chromedp.KeyEvent(kb.Enter))
	models := waitFor[[]string](t, b, "the per-model table", `(() => { const r = Array.from(document.querySelectorAll('#report-models-table tbody tr')).map(r => r.children[0].textContent + '=' + r.children[1].textContent); return r.length > 0 && r; })()`)
	if want := fmt.Sprintf("gpt-4o=%d", requests); len(models) != 1 || models[0] != want {
		t.Errorf("per-model rows %v, want [%s] (model=requests)", models, want)
	}
	totals := eval[[]string](t, b, `Array.from(document.querySelectorAll('#report-totals div')).map(d => d.children[0].textContent + '=' + d.children[1].textContent)`)
	for _, want := range []string{"Attendees registered=1", "Active attendees=1", fmt.Sprintf("Requests=%d", requests)} {
		if !contains(totals, want) {
			t.Errorf("report totals %v lack %s", totals, want)
		}
	}
	for _, chart := range []string{"report-active", "report-requests", "report-tokens"} {
		if n := eval[int](t, b, `document.querySelectorAll('#`+chart+` svg rect.bar').length`); n == 0 {
			t.Errorf("#%s drew no bars", chart)
		}
	}
	if got := eval[string](t, b, `document.activeElement.id`); got != "report-title" {
		t.Errorf("after opening the report, focus is on #%s, want the report's heading", got)
	}
	if got := eval[string](t, b, `document.getElementById('report-title').textContent`); got != "Report: "+name {
		t.Errorf("report heading %q, want the name as text: %q", got, "Report: "+name)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#report-card script, #events-table script').length`); n != 0 {
		t.Errorf("the event's name made %d script elements", n)
	}
	if v := eval[string](t, b, `String(window.__xss)`); v != "undefined" {
		t.Errorf("the event's name ran: window.__xss = %s", v)
	}
	if w := eval[int](t, b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("with the report open, the page is %d px wider than a phone screen", w)
	}

	// Edit: the form shows the event in its own time zone.
	b.do(t, "edit", chromedp.WaitVisible(chromedp.CSS(row+` button.edit`)), clickInPage(row+` button.edit`), chromedp.WaitVisible(chromedp.ID("ev-cancel")))
	sydney, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		"ev-name": name, "ev-tz": zone, "ev-daily": "50", "ev-max-tokens": "64", "ev-models": "gpt-4o", "ev-code": "",
		"ev-start": start.In(sydney).Format("2006-01-02T15:04"), "ev-end": end.In(sydney).Format("2006-01-02T15:04"),
	} {
		if got := eval[string](t, b, `document.getElementById('`+id+`').value`); got != want {
			t.Errorf("edit form #%s = %q, want %q", id, got, want)
		}
	}
	// A refusal shows the API's message under the form, and keeps the form.
	setValue(t, b, "ev-tz", "Mars/Olympus")
	b.do(t, "save a wrong zone", chromedp.Click(chromedp.ID("ev-submit")))
	msg := waitFor[string](t, b, "the refusal", `!document.getElementById('event-error').hidden && document.getElementById('event-error').textContent`)
	if !strings.Contains(msg, "400") || !strings.Contains(msg, `unknown time zone "Mars/Olympus"`) {
		t.Errorf("refusal %q, want the 400 and the API's message", msg)
	}
	if got := eval[string](t, b, `document.getElementById('ev-editing').value`); got != eventID {
		t.Errorf("after a refusal the form edits %q, want still %q", got, eventID)
	}
	setValue(t, b, "ev-tz", zone)
	setValue(t, b, "ev-daily", "7")
	b.do(t, "save", chromedp.Click(chromedp.ID("ev-submit")))
	waitFor[bool](t, b, "the saved cap in the list and the report redrawn", `(() => { const r = document.querySelector('`+row+`'); return !!r && r.children[4].textContent.includes('7/day') && !document.getElementById('report-card').hasAttribute('aria-busy'); })()`)
	if got := eval[string](t, b, `(() => { const n = document.getElementById('event-notice'); return n.hidden ? '' : n.textContent; })()`); got != "Event "+name+" saved." {
		t.Errorf("after saving, the notice says %q, want the event saved", got)
	}
	status, got := call(t, http.MethodGet, s.url+"/admin/v1/events/"+eventID, browserAdmin, nil)
	if status != http.StatusOK {
		t.Fatalf("get the event: status %d", status)
	}
	for field, want := range map[string]any{
		"daily_request_cap": float64(7), "name": name, "time_zone": zone, "max_token_cap": float64(64),
		"start": start.Format(time.RFC3339), "end": end.Format(time.RFC3339), "self_registration": true, "active": true,
	} {
		if got[field] != want {
			t.Errorf("after the edit, %s = %v, want %v", field, got[field], want)
		}
	}
	if m, _ := got["models"].([]any); len(m) != 1 || m[0] != "gpt-4o" {
		t.Errorf("after the edit, models = %v, want [gpt-4o]", got["models"])
	}
	if !eval[bool](t, b, `document.getElementById('ev-cancel').hidden && document.getElementById('ev-editing').value === ''`) {
		t.Error("after saving, the form still edits the event")
	}
}

// chatWith sends one chat request with key and returns the status.
func chatWith(t *testing.T, base, key, model string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
