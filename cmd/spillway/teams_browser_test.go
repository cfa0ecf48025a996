package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminTeams: the admin creates a team with a shared rpm, puts
// a key in it from the Teams tab, and the gateway holds the key to the
// team's limit; editing the team, taking the key out and deleting the team
// all show in the page and in the API.
func TestBrowserAdminTeams(t *testing.T) {
	s := startBrowserApp(t)
	status, k := call(t, http.MethodPost, s.url+"/admin/v1/keys", browserAdmin, map[string]any{"name": "search-<i>bot</i>"})
	if status != http.StatusCreated {
		t.Fatalf("create key: %d %v", status, k)
	}
	keyID, key := k["id"].(string), k["key"].(string)

	b := newBrowser(t, 1440, 900)
	adminSignIn(t, b, s.url)
	openTab(t, b, "teams")
	setValue(t, b, "team-id", "search")
	setValue(t, b, "team-name", "Search <b>team</b>")
	setValue(t, b, "team-models", "gpt-4o")
	setValue(t, b, "team-rpm", "2")
	setValue(t, b, "team-parallel", "4")
	setValue(t, b, "team-monthly", "50")
	b.do(t, "create", chromedp.Click(chromedp.ID("team-submit")))
	row := waitFor[string](t, b, "the team in the list", `(() => { const r = document.querySelector('#teams-table tbody tr[data-id="search"]'); return r && r.textContent; })()`)
	for _, want := range []string{"Search <b>team</b>", "2 rpm", "4 in flight", "$50.00/month", "$0.00 today"} {
		if !strings.Contains(row, want) {
			t.Errorf("team row = %q, want it to show %q", row, want)
		}
	}
	if n := eval[int](t, b, `document.querySelectorAll('#teams-table b').length`); n != 0 {
		t.Errorf("the team's name made %d <b> elements", n)
	}

	// Put the key in the team.
	// Row buttons are clicked from the page: the tables are redrawn after
	// every change, which can swap a row under a node id chromedp looked
	// up a moment before.
	b.do(t, "open the team's keys", clickJS(`#teams-table tr[data-id="search"] button.team-keys`), chromedp.WaitVisible(chromedp.ID("team-keys-card")))
	waitFor[bool](t, b, "the key offered", `document.querySelectorAll('#team-key-select option').length > 0`)
	setValue(t, b, "team-key-select", keyID)
	b.do(t, "add it", chromedp.Click(chromedp.CSS("#team-key-form button[type=submit]")))
	member := waitFor[string](t, b, "the key in the team", `(() => { const r = document.querySelector('#team-keys-table tbody tr[data-id]'); return r && r.textContent; })()`)
	if !strings.Contains(member, "search-<i>bot</i>") || strings.Contains(member, key) {
		t.Errorf("member row = %q, want the key's name as text and never the key", member)
	}
	waitFor[bool](t, b, "the key count", `(() => { const r = document.querySelector('#teams-table tbody tr[data-id="search"]'); return !!r && r.children[6].textContent === '1'; })()`)

	// The gateway now holds the key to the team's 2 rpm and its models.
	for i := range 2 {
		if s, body := call(t, http.MethodPost, s.url+"/v1/chat/completions", key, map[string]any{"model": "gpt-4o", "max_tokens": 5, "messages": []any{map[string]any{"role": "user", "content": "hi"}}}); s != http.StatusOK {
			t.Fatalf("request %d in the team: %d %v", i+1, s, body)
		}
	}
	status, refusal := call(t, http.MethodPost, s.url+"/v1/chat/completions", key, map[string]any{"model": "gpt-4o", "max_tokens": 5, "messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	e, _ := refusal["error"].(map[string]any)
	if msg, _ := e["message"].(string); status != http.StatusTooManyRequests || !strings.Contains(msg, "team") {
		t.Errorf("3rd request: %d %v; want 429 naming the team's limit", status, refusal)
	}
	if s, _ := call(t, http.MethodPost, s.url+"/v1/chat/completions", key, map[string]any{"model": "o4-mini", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}); s != http.StatusForbidden {
		t.Errorf("a model outside the team's list: %d, want 403", s)
	}

	// The Usage tab shows the team's requests, refused ones included.
	b.do(t, "open usage", chromedp.Click(chromedp.ID("tab-usage")))
	usage := waitFor[string](t, b, "the team's usage", `(() => {
		const r = document.querySelector('#usage-team-table tbody tr[data-team="search"]');
		// The usage writer flushes in batches: ask again now and then.
		if (!r && Date.now() - (window.__asked || 0) > 250) { window.__asked = Date.now(); document.querySelector('#usage-form button[type=submit]').click(); }
		if (!r) return '';
		return r.textContent; })()`)
	if !strings.HasPrefix(usage, "search4") {
		t.Errorf("usage row of the team = %q, want team search with 4 requests (2 admitted, 2 refused)", usage)
	}
	openTab(t, b, "teams")

	// Edit the team: the form fills in, the change shows.
	b.do(t, "edit", clickJS(`#teams-table tr[data-id="search"] button.edit`))
	if got := eval[string](t, b, `document.getElementById('team-rpm').value`); got != "2" {
		t.Errorf("edit form rpm = %q, want 2", got)
	}
	if got := eval[string](t, b, `document.getElementById('team-parallel').value`); got != "4" {
		t.Errorf("edit form parallel requests = %q, want 4", got)
	}
	setValue(t, b, "team-rpm", "100")
	setValue(t, b, "team-parallel", "0")
	b.do(t, "save", chromedp.Click(chromedp.ID("team-submit")))
	waitFor[bool](t, b, "the new rpm", `(() => { const r = document.querySelector('#teams-table tbody tr[data-id="search"]'); return !!r && r.textContent.includes('100 rpm') && !r.textContent.includes('in flight'); })()`)
	if status, got := call(t, http.MethodGet, s.url+"/admin/v1/teams/search", browserAdmin, nil); status != http.StatusOK || got["max_parallel_requests"] != 0.0 {
		t.Errorf("team after the portal edit = %d %v; want max_parallel_requests 0", status, got)
	}

	// Take the key out, then delete the team (accepting the confirmation).
	b.do(t, "remove the key", clickJS(`#team-keys-table tbody tr[data-id] button`))
	waitFor[bool](t, b, "no member left", `!document.querySelector('#team-keys-table tbody tr[data-id]')`)
	if _, got := call(t, http.MethodGet, s.url+"/admin/v1/keys/"+keyID, browserAdmin, nil); got["team_id"] != "" {
		t.Errorf("key after removal: team_id = %v, want \"\"", got["team_id"])
	}
	b.do(t, "delete", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		clickJS(`#teams-table tr[data-id="search"] button.delete`))
	waitFor[bool](t, b, "the team gone", `!document.querySelector('#teams-table tbody tr[data-id="search"]')`)
	if s, _ := call(t, http.MethodGet, s.url+"/admin/v1/teams/search", browserAdmin, nil); s != http.StatusNotFound {
		t.Errorf("GET the deleted team: %d, want 404", s)
	}
}

// clickJS clicks the element selector names from the page's own script.
func clickJS(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.querySelector(%q).click()", selector))
}
