package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/spillwayhq/spillway/internal/mock"
)

// adminSignIn opens the portal and signs in with the admin token.
func adminSignIn(t *testing.T, b *browser, base string) {
	t.Helper()
	b.do(t, "open the portal", chromedp.Navigate(base+"/admin"), chromedp.WaitVisible(chromedp.ID("token")))
	b.do(t, "sign in", chromedp.SendKeys(chromedp.ID("token"), browserAdmin+kb.Enter), chromedp.WaitVisible(chromedp.ID("tab-deployments")))
}

// openTab opens the portal's tab name and waits until its panel has
// loaded (no longer aria-busy), so that its lists are there to read and
// their rows' buttons to click. The tab's create form sits above its
// lists and does not move as they fill in (TestBrowserAdminFormsStayPut),
// but a card below the lists, such as an event's attendees, does.
func openTab(t *testing.T, b *browser, name string) {
	t.Helper()
	b.do(t, "open the "+name+" tab", chromedp.Click(chromedp.ID("tab-"+name)))
	waitFor[bool](t, b, "the "+name+" tab loaded", `(() => { const p = document.getElementById('panel-`+name+`'); return !p.hidden && !p.hasAttribute('aria-busy'); })()`)
}

// chat sends one chat request from outside the browser and returns the
// status.
func chat(t *testing.T, base, model string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+browserKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestBrowserAdminDeployments: a wrong token is refused; the admin signs
// in, adds a deployment and sees it serving, edits it from the keyboard,
// deactivates and reactivates it; a dead deployment is explained (state,
// failures, last error, when it is probed) with its weight, priority, rpm
// and tpm; the session is an HttpOnly cookie that a script cannot read and
// that does not let a call without the CSRF header change anything.
func TestBrowserAdminDeployments(t *testing.T) {
	s := startBrowserApp(t)
	dead := deadDeployment(t, s)
	b := newBrowser(t, 1440, 900)
	b.do(t, "open the portal", chromedp.Navigate(s.url+"/admin"), chromedp.WaitVisible(chromedp.ID("token")))
	b.do(t, "wrong token", chromedp.SendKeys(chromedp.ID("token"), "sk-admin-wrong"+kb.Enter), chromedp.WaitVisible(chromedp.ID("login-error")))
	adminSignIn(t, b, s.url)

	if c := eval[string](t, b, "document.cookie"); c != "" {
		t.Errorf("document.cookie = %q, want the session cookie hidden from scripts", c)
	}
	if st := eval[string](t, b, "JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + location.href"); strings.Contains(st, browserAdmin) {
		t.Errorf("the admin token is kept in the browser: %s", st)
	}
	status := func(expr string) int {
		v, err := runStep(b, chromedp.Evaluate[int](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	if got := status(`fetch('/admin/v1/deployments', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}).then(r => r.status)`); got != http.StatusUnauthorized {
		t.Errorf("POST without the CSRF header: status %d, want 401", got)
	}
	if got := status(`fetch('/admin/v1/routing').then(r => r.status)`); got != http.StatusOK {
		t.Errorf("GET with the session: status %d, want 200", got)
	}

	waitFor[bool](t, b, "the deployments", `!!document.querySelector('#deployments-table tr[data-id="gpt4o-up"]')`)
	for id, v := range map[string]string{
		"dep-id": "gpt4o-added", "dep-model": "gpt-4o-added", "dep-class": "openai-chat", "dep-provider": "azure",
		"dep-endpoint": s.up.URL, "dep-deployment": "gpt-4o", "dep-api-key": "upstream-key",
	} {
		setValue(t, b, id, v)
	}
	b.do(t, "add", chromedp.Click(chromedp.ID("dep-submit")))
	state := `(() => { const s = document.querySelector('#deployments-table tr[data-id="gpt4o-added"] .state'); return s && s.textContent; })()`
	if got := waitFor[string](t, b, "the new deployment", state); got != "serving" {
		t.Errorf("new deployment state = %q, want serving", got)
	}
	if code := chat(t, s.url, "gpt-4o-added"); code != http.StatusOK {
		t.Errorf("chat to the added deployment: status %d, want 200", code)
	}

	// Edit: the form fills in, the change shows in the table.
	b.do(t, "edit", chromedp.WaitVisible(chromedp.CSS(`#deployments-table tr[data-id="gpt4o-added"] td.actions button`)), clickInPage(`#deployments-table tr[data-id="gpt4o-added"] td.actions button`),
		chromedp.WaitVisible(chromedp.ID("dep-cancel")))
	setValue(t, b, "dep-priority", "3")
	b.do(t, "save", chromedp.Click(chromedp.ID("dep-submit")))
	waitFor[bool](t, b, "the new priority", `(() => { const r = document.querySelector('#deployments-table tr[data-id="gpt4o-added"] td.priority'); return !!r && r.textContent === '3'; })()`)
	b.do(t, "edit again from the keyboard", chromedp.Focus(chromedp.CSS(`#deployments-table tr[data-id="gpt4o-added"] td.actions button.edit`)),
		chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("dep-cancel")))
	if got := eval[string](t, b, `document.activeElement.id`); got != "dep-model" {
		t.Errorf("after Edit, focus is on #%s, want the form's first editable field", got)
	}
	if got := eval[string](t, b, `document.getElementById('dep-priority').value`); got != "3" {
		t.Errorf("editing again shows priority %s, want the saved 3", got)
	}
	b.do(t, "cancel", chromedp.Click(chromedp.ID("dep-cancel")))

	// Deactivate, then activate again.
	toggle := chromedp.CSS(`#deployments-table tr[data-id="gpt4o-added"] td.actions button.secondary`)
	b.do(t, "deactivate", chromedp.Click(toggle))
	waitFor[bool](t, b, "inactive", state+` === 'inactive'`)
	b.do(t, "activate", chromedp.Click(toggle))
	waitFor[bool](t, b, "serving again", state+` === 'serving'`)

	// The dead deployment: what is wrong, since when it is out, when it is
	// tried again, and how it is configured.
	row := `#deployments-table tr[data-id="gpt4o-dead"]`
	waitFor[bool](t, b, "the dead deployment's open circuit", `(() => { const s = document.querySelector('`+row+` .state'); return !!s && s.textContent === 'circuit-open'; })()`)
	cells := eval[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll('`+row+` td, `+row+` td span')).map(c => [c.className.split(' ')[0], c.textContent]))`)
	for cell, want := range map[string]string{"priority": "2", "weight": "3", "rpm": "60 rpm", "tpm": "6,000 tpm", "in-flight": "0", "last-error": dead.lastError} {
		if cells[cell] != want {
			t.Errorf("dead deployment's %s cell = %q, want %q", cell, cells[cell], want)
		}
	}
	if n, err := strconv.Atoi(cells["failures"]); err != nil || n < dead.failures {
		t.Errorf("dead deployment's failures cell = %q, want at least %d", cells["failures"], dead.failures)
	}
	if !strings.Contains(cells["state-cell"], "failures in a row") || !regexp.MustCompile(`probed every 5 s|next probe`).MatchString(cells["state-cell"]) {
		t.Errorf("dead deployment's state cell = %q, want why it is out and when it is probed", cells["state-cell"])
	}
	// A deployment that answered 429 says why it cools down and until when.
	if code := chat(t, s.url, "gpt-4o-busy"); code != http.StatusTooManyRequests {
		t.Fatalf("chat to the busy model: status %d, want 429", code)
	}
	b.do(t, "reopen the tab, which reloads it", chromedp.Click(chromedp.ID("tab-events")), chromedp.Click(chromedp.ID("tab-deployments")))
	busy := waitFor[string](t, b, "the busy deployment cooling", `(() => { const c = document.querySelector('#deployments-table tr[data-id="gpt4o-busy"] td.state-cell'); return !!c && c.querySelector('.state').textContent === 'cooling' && c.textContent; })()`)
	if !regexp.MustCompile(`cooldown ends \d`).MatchString(busy) || !eval[bool](t, b, `!!document.querySelector('#deployments-table tr[data-id="gpt4o-busy"] td.state-cell time[title$=" UTC"]')`) {
		t.Errorf("cooling deployment's state cell = %q, want the reason and the cooldown's end, UTC on hover", busy)
	}
	if zone := eval[string](t, b, `document.getElementById('routing-updated').textContent`); !strings.Contains(zone, "times in your zone") {
		t.Errorf("the live state line %q does not name the zone its times are in", zone)
	}
	// Every cell of a row, the actions cell too, ends on the row's line.
	if off := eval[[]string](t, b, `Array.from(document.querySelectorAll('#deployments-table tbody tr')).flatMap(r => Array.from(r.cells).filter(c => Math.abs(c.getBoundingClientRect().bottom - r.getBoundingClientRect().bottom) > 0.5).map(c => r.dataset.id + '/' + c.className))`); len(off) > 0 {
		t.Errorf("cells whose border is off the row's line: %v", off)
	}
	b.screenshot(t, "deployments")

	// Signing out ends the portal session.
	b.do(t, "sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("token")))
	if got := status(`fetch('/admin/v1/routing').then(r => r.status)`); got != http.StatusUnauthorized {
		t.Errorf("GET after signing out: status %d, want 401", got)
	}
}

// TestBrowserAdminUsage: traffic through the gateway shows in the usage
// dashboard's charts (no label cut off) and table, and exports as CSV; a
// reversed range is refused and an empty one shows zeros, neither leaving
// the last range's numbers.
func TestBrowserAdminUsage(t *testing.T) {
	s := startBrowserApp(t)
	const requests = 4
	for range requests {
		if code := chat(t, s.url, "gpt-4o"); code != http.StatusOK {
			t.Fatalf("chat: status %d", code)
		}
	}
	if code := chat(t, s.url, "gpt-4o-busy"); code != http.StatusTooManyRequests {
		t.Fatalf("chat to the busy model: status %d, want 429", code)
	}
	// Records are written in batches after the response: wait for them.
	giveUp := time.Now().Add(browserTimeout) // liveness bound
	for s.app.usage.Stats().Written < requests+1 {
		if time.Now().After(giveUp) {
			t.Fatalf("usage writer: %+v, want %d records written", s.app.usage.Stats(), requests+1)
		}
		time.Sleep(10 * time.Millisecond)
	}

	b := newBrowser(t, 1440, 900)
	adminSignIn(t, b, s.url)
	openTab(t, b, "usage")
	waitFor[bool](t, b, "the requests chart", `document.querySelectorAll('#chart-requests svg rect.bar').length > 0`)
	waitFor[bool](t, b, "the models chart", `document.querySelectorAll('#chart-models svg rect.bar').length >= 2`)
	rows := eval[[]string](t, b, `Array.from(document.querySelectorAll('#usage-table tbody tr')).map(r => r.children[0].textContent + '=' + r.children[1].textContent + '/' + r.children[2].textContent)`)
	for _, want := range []string{"gpt-4o=4/0", "gpt-4o-busy=1/1"} {
		if !contains(rows, want) {
			t.Errorf("usage table rows %v lack %s (model=requests/errors)", rows, want)
		}
	}
	csv, err := runStep(b, chromedp.Evaluate[string](`fetch(document.getElementById('usage-csv').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(csv, "group,requests,errors,") || !strings.Contains(csv, "\ngpt-4o,4,0,") {
		t.Errorf("CSV export = %q, want a header and the gpt-4o row", csv)
	}
	// The default range is a timeline of the last 24 hours.
	if n := eval[int](t, b, `document.querySelectorAll('#chart-requests svg rect.bar').length`); n < 24 {
		t.Errorf("the 24-hour chart has %d bars, want one per hour", n)
	}
	// No label is cut at the edge of its chart.
	if cut := eval[[]string](t, b, clippedLabels); len(cut) > 0 {
		t.Errorf("chart labels cut at the edge: %q", cut)
	}
	if zone := eval[string](t, b, `document.getElementById('usage-zone').textContent`); !strings.Contains(zone, "your zone") {
		t.Errorf("the usage page says %q, want the zone its times are in", zone)
	}
	b.screenshot(t, "dashboard")
	// Another range re-reads the API.
	setValue(t, b, "usage-range", "7d")
	b.do(t, "last week", chromedp.Click(chromedp.CSS("#usage-form button[type=submit]")))
	waitFor[bool](t, b, "the chart by day", `(() => { const n = document.querySelectorAll('#chart-requests svg rect.bar').length; return n >= 7 && n <= 8; })()`)
	if cut := eval[[]string](t, b, clippedLabels); len(cut) > 0 {
		t.Errorf("chart labels cut at the edge: %q", cut)
	}

	// A reversed range is refused, and the last range's numbers go.
	const totals = `Array.from(document.querySelectorAll('#usage-totals dd')).map(d => d.textContent).join(',')`
	b.do(t, "custom range", chromedp.SetValue(chromedp.ID("usage-range"), "custom"))
	setValue(t, b, "usage-from", "2001-01-02T00:00")
	setValue(t, b, "usage-to", "2001-01-01T00:00")
	b.do(t, "show the reversed range", chromedp.Click(chromedp.CSS("#usage-form button[type=submit]")))
	msg := waitFor[string](t, b, "the refusal", `!document.getElementById('admin-error').hidden && document.getElementById('admin-error').textContent`)
	if !strings.Contains(msg, "not after its start") {
		t.Errorf("reversed range: message %q, want it to say the end is not after the start", msg)
	}
	if got := eval[string](t, b, totals+` + '|' + document.querySelectorAll('#usage-table tbody tr, #chart-requests svg, #chart-models svg').length`); got != "|0" {
		t.Errorf("under the refusal: totals and rows %q, want none left from the last range", got)
	}
	// A range without traffic shows zeros, not the last range's numbers.
	setValue(t, b, "usage-to", "2001-01-03T00:00")
	b.do(t, "show an empty range", chromedp.Click(chromedp.CSS("#usage-form button[type=submit]")))
	got := waitFor[string](t, b, "the empty range", `document.getElementById('admin-error').hidden && `+totals)
	if got != "0,0,0,$0.0000" || eval[int](t, b, `document.querySelectorAll('#usage-table tbody tr').length`) != 0 {
		t.Errorf("empty range: totals %q, want zeros and no rows", got)
	}
}

// clippedLabels lists the text of every chart label that reaches past
// either side of its chart.
const clippedLabels = `Array.from(document.querySelectorAll('.chart svg text')).filter(t => {
	const b = t.getBBox(), w = t.ownerSVGElement.viewBox.baseVal.width;
	return b.x < 0 || b.x + b.width > w;
}).map(t => t.textContent)`

// TestBrowserAdminKeys: the admin creates a key, sees it once with a copy
// button until leaving the tab, signs in to the playground with it, then
// revokes it and the playground refuses it.
func TestBrowserAdminKeys(t *testing.T) {
	s := startBrowserApp(t)
	b := newBrowser(t, 1440, 900)
	adminSignIn(t, b, s.url)
	openTab(t, b, "keys")
	setValue(t, b, "key-name", "team-<b>a</b>")
	setValue(t, b, "key-models", "gpt-4o")
	b.do(t, "create", chromedp.Click(chromedp.CSS("#key-form button[type=submit]")))
	shown := waitFor[string](t, b, "the new key", `!document.getElementById('key-created').hidden && document.getElementById('key-created').textContent`)
	key := regexp.MustCompile(`sk-\S+`).FindString(shown)
	if key == "" {
		t.Fatalf("key shown as %q, want the sk- key", shown)
	}
	row := waitFor[string](t, b, "the key in the list", `(() => { const r = document.querySelector('#keys-table tbody tr'); return r && r.textContent; })()`)
	if strings.Contains(row, key) || !strings.Contains(row, "team-<b>a</b>") || !strings.Contains(row, "active") {
		t.Errorf("key row = %q, want the name as text, the status, and never the key", row)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#keys-table b').length`); n != 0 {
		t.Errorf("the key's name made %d <b> elements", n)
	}
	// Shown once: a copy button, and gone once the tab is left.
	checkCopySecret(t, b, "#key-created", key)
	b.do(t, "leave the keys tab", chromedp.Click(chromedp.ID("tab-usage")), chromedp.Click(chromedp.ID("tab-keys")))
	if strings.Contains(eval[string](t, b, `document.body.textContent`), key) || !eval[bool](t, b, `document.getElementById('key-created').hidden`) {
		t.Error("after leaving the tab the new key is still on the page")
	}

	// The new key works in the playground, limited to its model.
	p := newBrowser(t, 1280, 900)
	p.do(t, "playground sign-in", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key+kb.Enter), chromedp.WaitVisible(chromedp.ID("workspace")))
	p.do(t, "chat", chromedp.SendKeys(chromedp.ID("prompt"), "Hi"+kb.Enter))
	waitFor[bool](t, p, "the answer", `!!document.querySelector('.message.assistant[data-state=done]')`)

	// Revoke (accepting the confirmation); the key stops working.
	b.do(t, "revoke", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.WaitVisible(chromedp.CSS(`#keys-table tbody tr td.actions button`)), clickInPage(`#keys-table tbody tr td.actions button`))
	waitFor[bool](t, b, "revoked", `(() => { const r = document.querySelector('#keys-table tbody tr'); return !!r && r.textContent.includes('revoked'); })()`)
	p.do(t, "chat with the revoked key", chromedp.SendKeys(chromedp.ID("prompt"), "Still there?"+kb.Enter))
	msg := waitFor[string](t, p, "the refusal", `!document.getElementById('chat-error').hidden && document.getElementById('chat-error').textContent`)
	if !strings.Contains(msg, "401") {
		t.Errorf("revoked key: message %q, want the 401 explained", msg)
	}
}

// dead is a deployment that answers 500 to everything, as the routing
// state reports it once its circuit opened.
type dead struct {
	failures  int
	lastError string
}

// deadDeployment adds gpt4o-dead (priority 2, weight 3, 60 rpm, 6,000 tpm) in front of
// an upstream that always fails, and sends chats to it until its circuit
// opens.
func deadDeployment(t *testing.T, s *browserApp) dead {
	t.Helper()
	up := httptest.NewServer(mock.New(mock.Options{Name: "dead", Faults: []mock.Fault{{Kind: mock.FaultStatus, Status: http.StatusInternalServerError}}}))
	t.Cleanup(up.Close)
	status, body := call(t, http.MethodPost, s.url+"/admin/v1/deployments", browserAdmin, map[string]any{
		"id": "gpt4o-dead", "model": "gpt-4o-dead", "class": "openai-chat", "provider": "azure", "endpoint": up.URL,
		"deployment": "gpt-4o", "api_key": "k", "priority": 2, "weight": 3, "rpm": 60, "tpm": 6000, "active": true,
	})
	if status != http.StatusCreated {
		t.Fatalf("add the dead deployment: status %d, %v", status, body)
	}
	var d dead
	eventually(t, "the dead deployment's circuit to open", func() bool {
		chat(t, s.url, "gpt-4o-dead")
		_, routing := call(t, http.MethodGet, s.url+"/admin/v1/routing", browserAdmin, nil)
		list, _ := routing["data"].([]any)
		for _, x := range list {
			st, _ := x.(map[string]any)
			if st["id"] == "gpt4o-dead" && st["state"] == "circuit-open" {
				f, _ := st["failures"].(float64)
				d.failures = int(f)
				d.lastError, _ = st["last_error"].(string)
				return d.lastError != ""
			}
		}
		return false
	})
	return d
}
