package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// answerHold holds the tab's answers to GET requests for one path of the
// gateway: the gateway has answered, the page has not read the answer
// yet, as on a slow connection. Requests of other methods pass at once.
// One hold at a time per tab: each sets the tab's Fetch patterns.
type answerHold struct {
	t      *testing.T
	b      *browser
	path   string
	stop   context.CancelFunc
	mu     sync.Mutex
	held   []fetch.RequestID
	open   bool // let every answer through, later ones too
	errors []error
}

// holdAnswers starts holding the answers to GET path until the hold is
// released; the test ends the hold if it has not.
func holdAnswers(t *testing.T, b *browser, path string) *answerHold {
	t.Helper()
	ctx, stop := context.WithCancel(b.ctx)
	h := &answerHold{t: t, b: b, path: path, stop: stop}
	if err := chromedp.Listen(ctx, h.paused); err != nil {
		t.Fatalf("listen for held answers: %v", err)
	}
	step, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(step, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*" + path + "*", RequestStage: fetch.RequestStageResponse}}}); err != nil {
		t.Fatalf("hold the answers to %s: %v", path, err)
	}
	t.Cleanup(h.release)
	return h
}

// paused is the tab's listener: it must not block or run a command.
func (h *answerHold) paused(ev any) {
	e, ok := ev.(*fetch.EventRequestPaused)
	if !ok {
		return
	}
	u, err := url.Parse(e.Request.URL)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil && u.Path == h.path && e.Request.Method == http.MethodGet && !h.open {
		h.held = append(h.held, e.RequestID)
		return
	}
	go h.pass(e.RequestID)
}

// pass lets one answer through to the page.
func (h *answerHold) pass(id fetch.RequestID) {
	ctx, cancel := h.b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id}); err != nil {
		h.mu.Lock()
		h.errors = append(h.errors, err)
		h.mu.Unlock()
	}
}

// wait waits until n answers are held.
func (h *answerHold) wait(n int) {
	h.t.Helper()
	giveUp := time.Now().Add(browserTimeout) // liveness bound
	for {
		h.mu.Lock()
		got := len(h.held)
		h.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(giveUp) {
			h.t.Fatalf("%d answers to %s held, want %d", got, h.path, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// let lets the i-th held answer (from 0) through.
func (h *answerHold) let(i int) {
	h.t.Helper()
	h.mu.Lock()
	id := h.held[i]
	h.mu.Unlock()
	h.pass(id)
	h.check()
}

// release lets every held answer through, and every later one, and
// stops intercepting.
func (h *answerHold) release() {
	h.t.Helper()
	h.mu.Lock()
	if h.open {
		h.mu.Unlock()
		return
	}
	h.open = true
	held := h.held
	h.mu.Unlock()
	for _, id := range held {
		h.pass(id) // an answer already let through fails here: harmless
	}
	ctx, cancel := h.b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, fetch.Disable, struct{}{}); err != nil {
		h.t.Errorf("stop holding answers: %v", err)
	}
	h.stop()
}

func (h *answerHold) check() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, err := range h.errors {
		h.t.Errorf("let an answer to %s through: %v", h.path, err)
	}
	h.errors = nil
}

// TestBrowserAdminFormsStayPut: on every portal tab with a create form,
// the form's button stays where it is when the tab's list arrives, on a
// phone (where each row is a card) and on a desktop. The list's answer is
// held until the button's place is measured, as a slow connection holds
// it; a tap aimed at the button then still lands on it.
func TestBrowserAdminFormsStayPut(t *testing.T) {
	s := startBrowserApp(t)
	// Enough rows to push a form far down if it were below its list.
	for i := range 6 {
		if status, body := call(t, http.MethodPost, s.url+"/admin/v1/keys", browserAdmin, map[string]any{"name": fmt.Sprintf("key-%d", i)}); status != http.StatusCreated {
			t.Fatalf("create a key: status %d, %v", status, body)
		}
	}
	for i := range 4 {
		if status, body := call(t, http.MethodPost, s.url+"/admin/v1/teams", browserAdmin, map[string]any{"id": fmt.Sprintf("team-%d", i), "name": fmt.Sprintf("Team %d", i)}); status != http.StatusCreated {
			t.Fatalf("create a team: status %d, %v", status, body)
		}
	}
	now := time.Now().UTC()
	for i := range 4 {
		if status, body := call(t, http.MethodPost, s.url+"/admin/v1/events", browserAdmin, map[string]any{
			"name": fmt.Sprintf("Hack night %d", i), "start": now.Format(time.RFC3339), "end": now.Add(time.Hour).Format(time.RFC3339), "time_zone": "UTC",
		}); status != http.StatusCreated {
			t.Fatalf("create an event: status %d, %v", status, body)
		}
	}

	b := newBrowser(t, 1440, 900)
	adminSignIn(t, b, s.url)
	for _, vp := range []struct {
		name          string
		width, height int64
		phone         bool
	}{
		{"phone", 390, 844, true},
		{"desktop", 1440, 900, false},
	} {
		t.Run(vp.name, func(t *testing.T) {
			opts := []chromedp.EmulateViewportOption{}
			if vp.phone {
				opts = append(opts, chromedp.EmulateMobile)
			}
			b.do(t, "viewport", chromedp.EmulateViewport(vp.width, vp.height, opts...))
			for _, tc := range []struct {
				tab, list, button, table string
				rows                     int
			}{
				// The first tab loads as the portal opens.
				{"deployments", "/admin/v1/deployments", "#dep-submit", "#deployments-table", 7},
				{"events", "/admin/v1/events", "#ev-submit", "#events-table", 4},
				{"keys", "/admin/v1/keys", "#key-form button[type=submit]", "#keys-table", 6},
				{"teams", "/admin/v1/teams", "#team-submit", "#teams-table", 4},
			} {
				t.Run(tc.tab, func(t *testing.T) {
					hold := holdAnswers(t, b, tc.list)
					// A fresh page: the tab's list is empty until its answer.
					b.do(t, "open the portal", chromedp.Navigate(s.url+"/admin/"), chromedp.WaitVisible(chromedp.ID("tab-"+tc.tab)))
					if tc.tab != "deployments" {
						b.do(t, "open the "+tc.tab+" tab", chromedp.Click(chromedp.ID("tab-"+tc.tab)))
					}
					hold.wait(1)
					rows := `document.querySelectorAll('` + tc.table + ` tbody tr').length`
					busy := `document.getElementById('panel-` + tc.tab + `').hasAttribute('aria-busy')`
					where := `(() => { const r = document.querySelector('` + tc.button + `').getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY]; })()`
					if n, waiting := eval[int](t, b, rows), eval[bool](t, b, busy); n != 0 || !waiting {
						t.Fatalf("with the list's answer held: %d rows, aria-busy %v; want none yet, busy", n, waiting)
					}
					before := eval[[]float64](t, b, where)
					hold.release()
					waitFor[bool](t, b, "the list", `!`+busy+` && `+rows+` >= `+strconv.Itoa(tc.rows))
					after := eval[[]float64](t, b, where)
					if abs(after[0]-before[0]) > 0.5 || abs(after[1]-before[1]) > 0.5 {
						t.Errorf("%s's button at (%.0f, %.0f) before its list arrived, at (%.0f, %.0f) after: want it to stay put", tc.tab, before[0], before[1], after[0], after[1])
					}
				})
			}
		})
	}
}

// TestBrowserAdminLatestList: on each tab whose list a form changes, a
// slow answer to the tab's first read of its list (the one started as the
// tab opened) does not replace the list read after the form was used
// (a key, team or event created; the audit log filtered), and the form's
// button keeps focus and its place while the lists arrive and its outcome
// shows (under the form: a line at the top of the page pushed it down).
// The answers are held in the browser and let through newest first.
func TestBrowserAdminLatestList(t *testing.T) {
	s := startBrowserApp(t)
	now := time.Now().UTC()
	for i := range 3 {
		for _, c := range []struct {
			path string
			body map[string]any
		}{
			{"/admin/v1/keys", map[string]any{"name": fmt.Sprintf("key-%d", i)}},
			{"/admin/v1/teams", map[string]any{"id": fmt.Sprintf("team-%d", i), "name": fmt.Sprintf("Team %d", i)}},
			{"/admin/v1/events", map[string]any{"name": fmt.Sprintf("Hack night %d", i), "start": now.Format(time.RFC3339), "end": now.Add(time.Hour).Format(time.RFC3339), "time_zone": "UTC"}},
		} {
			if status, body := call(t, http.MethodPost, s.url+c.path, browserAdmin, c.body); status != http.StatusCreated {
				t.Fatalf("POST %s: status %d, %v", c.path, status, body)
			}
		}
	}
	// teamEntries is how many audit entries are about teams now.
	teamEntries := func() int {
		_, page := call(t, http.MethodGet, s.url+"/admin/v1/audit?resource=teams&limit=50", browserAdmin, nil)
		entries, _ := page["data"].([]any)
		return len(entries)
	}
	n := func(rows int) func() int { return func() int { return rows } }

	b := newBrowser(t, 390, 844)
	b.do(t, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	adminSignIn(t, b, s.url)
	for _, tc := range []struct {
		tab, list, table, button string
		fields                   map[string]string
		first                    int        // rows the tab's read shows, or -1: not known
		then                     func() int // rows the read after the form shows
	}{
		{"keys", "/admin/v1/keys", "#keys-table", "#key-form button[type=submit]", map[string]string{"key-name": "the-new-one"}, 3, n(4)},
		{"teams", "/admin/v1/teams", "#teams-table", "#team-submit", map[string]string{"team-name": "The new one"}, 3, n(4)},
		{"events", "/admin/v1/events", "#events-table", "#ev-submit", map[string]string{
			"ev-name": "The new one", "ev-start": now.Format("2006-01-02T15:04"), "ev-end": now.Add(time.Hour).Format("2006-01-02T15:04")}, 3, n(4)},
		{"audit", "/admin/v1/audit", "#audit-table", "#audit-form button[type=submit]", map[string]string{"audit-resource": "teams"}, -1, teamEntries},
	} {
		t.Run(tc.tab, func(t *testing.T) {
			b.do(t, "open the portal", chromedp.Navigate(s.url+"/admin/"), chromedp.WaitVisible(chromedp.ID("tab-"+tc.tab)))
			// answered counts the lists (answers to GET list) the page has
			// read and acted on: the count goes up in a task queued once
			// the JSON is read, which runs after the promise jobs that draw
			// (or not) from it.
			b.do(t, "count the list's answers", chromedp.Evaluate[chromedp.Void](`(() => {
				window.answered = 0;
				const json = Response.prototype.json;
				Response.prototype.json = function () {
					const p = json.call(this);
					if (new URL(this.url).pathname === '`+tc.list+`') p.then((v) => { if (Array.isArray(v.data)) setTimeout(() => { window.answered++; }, 0); });
					return p;
				};
			})()`))
			hold := holdAnswers(t, b, tc.list)
			b.do(t, "open the "+tc.tab+" tab", chromedp.Click(chromedp.ID("tab-"+tc.tab)))
			hold.wait(1) // the tab's read

			where := `document.querySelector('` + tc.button + `').getBoundingClientRect().top + scrollY`
			before := eval[float64](t, b, where)
			for id, v := range tc.fields {
				setValue(t, b, id, v)
			}
			b.do(t, "use the form", chromedp.Click(chromedp.CSS(tc.button)))
			hold.wait(2) // the read after the form
			rows := `document.querySelectorAll('` + tc.table + ` tbody tr').length`
			then := tc.then()
			hold.let(1)
			waitFor[bool](t, b, "the list after the form", rows+` === `+strconv.Itoa(then)+` && window.answered === 1`,
				`'rows ' + `+rows+` + ', answers read ' + window.answered + ', error ' + JSON.stringify(document.getElementById('admin-error').textContent)`)
			hold.let(0)
			waitFor[bool](t, b, "the tab's slow answer read", `window.answered === 2`)
			if n := eval[int](t, b, rows); n != then {
				t.Errorf("after the tab's slow answer the list has %d rows, want the %d of the later read", n, then)
			}
			if tc.first == then {
				t.Fatalf("the test cannot tell the reads apart: both have %d rows", then)
			}
			if busy := eval[bool](t, b, `document.getElementById('panel-`+tc.tab+`').hasAttribute('aria-busy')`); busy {
				t.Error("the panel is still aria-busy after every answer arrived")
			}
			if msg := eval[string](t, b, `Array.from(document.querySelectorAll('.outcome:not([hidden])')).map(p => p.id + ': ' + p.textContent).join('; ')`); strings.Contains(msg, "error") {
				t.Errorf("after using the form: %s", msg)
			}
			if got := eval[string](t, b, `document.activeElement === document.querySelector('`+tc.button+`') ? 'the button' : document.activeElement.outerHTML.slice(0, 80)`); got != "the button" {
				t.Errorf("after using the form, focus is on %s, want its button", got)
			}
			if after := eval[float64](t, b, where); abs(after-before) > 0.5 {
				t.Errorf("the form's button moved from %.0f px to %.0f px down the page as the lists arrived, want it to stay put", before, after)
			}
			hold.release()
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
