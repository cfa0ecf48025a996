package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminRowOutcome: on a phone, the outcome of a row's action
// (a key revoked; a deployment's Deactivate refused because someone
// removed it meanwhile) shows in a line right under that row, on the
// screen, with the focus, and not at the top of the page, which a long
// list scrolled down leaves out of sight.
func TestBrowserAdminRowOutcome(t *testing.T) {
	s := startBrowserApp(t)
	for i := range 12 {
		if status, body := call(t, http.MethodPost, s.url+"/admin/v1/keys", browserAdmin, map[string]any{"name": fmt.Sprintf("key-%02d", i)}); status != http.StatusCreated {
			t.Fatalf("create a key: status %d, %v", status, body)
		}
	}
	if status, body := call(t, http.MethodPost, s.url+"/admin/v1/deployments", browserAdmin, map[string]any{
		"id": "gpt4o-gone", "model": "gpt-4o", "class": "openai-chat", "provider": "azure", "endpoint": "http://127.0.0.1:1",
		"deployment": "gpt-4o", "api_key": "k", "active": true,
	}); status != http.StatusCreated {
		t.Fatalf("add a deployment: status %d, %v", status, body)
	}

	b := newBrowser(t, 390, 844)
	b.do(t, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	adminSignIn(t, b, s.url)
	b.do(t, "say yes to every confirm", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))

	for _, tc := range []struct {
		name, tab, table string
		row              func() string // the data-id of the row acted on
		before           func()        // what happens between drawing and pressing
		button           string        // within the row
		kind, says       string
	}{
		{
			name: "revoke the last key", tab: "keys", table: "#keys-table",
			row: func() string {
				return eval[string](t, b, `Array.from(document.querySelectorAll('#keys-table tbody tr')).filter((r) => r.textContent.includes('active')).pop().dataset.id`)
			},
			button: "button", kind: "notice", says: "revoked",
		},
		{
			name: "deactivate a deployment removed meanwhile", tab: "deployments", table: "#deployments-table",
			row: func() string { return "gpt4o-gone" },
			before: func() {
				if status, body := call(t, http.MethodDelete, s.url+"/admin/v1/deployments/gpt4o-gone", browserAdmin, nil); status/100 != 2 {
					t.Fatalf("remove the deployment: status %d, %v", status, body)
				}
			},
			button: "button.secondary", kind: "error", says: "gpt4o-gone",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.do(t, "open the "+tc.tab+" tab", chromedp.Click(chromedp.ID("tab-"+tc.tab)))
			waitFor[bool](t, b, "the list", `!document.getElementById('panel-`+tc.tab+`').hasAttribute('aria-busy') && document.querySelectorAll('`+tc.table+` tbody tr').length > 1`)
			id := tc.row()
			row := tc.table + ` tbody tr[data-id="` + id + `"]`
			if tc.before != nil {
				tc.before()
			}
			b.do(t, "press the row's button", chromedp.Click(chromedp.CSS(row+" "+tc.button)))
			waitFor[bool](t, b, "the row's outcome", `!!document.querySelector('`+tc.table+` tr.row-note')`)

			got := eval[map[string]any](t, b, `(() => {
				const note = document.querySelector('`+tc.table+` tr.row-note');
				const cell = note.cells[0], r = cell.getBoundingClientRect();
				const prev = note.previousElementSibling;
				return {
					after: prev ? prev.dataset.id : '', kind: cell.className, text: cell.textContent,
					onScreen: r.top >= 0 && r.bottom <= innerHeight + 1 && r.height > 0, // layout in fractions of a pixel
					focused: document.activeElement === cell,
					top: Array.from(document.querySelectorAll('#admin-notice, #admin-error')).filter((p) => !p.hidden).map((p) => p.id).join(','),
					notes: document.querySelectorAll('tr.row-note').length,
				};
			})()`)
			if got["after"] != id {
				t.Errorf("the outcome is under row %q, want under %q", got["after"], id)
			}
			if got["kind"] != tc.kind || !strings.Contains(got["text"].(string), tc.says) {
				t.Errorf("the outcome is %v %q, want %s saying %q", got["kind"], got["text"], tc.kind, tc.says)
			}
			if got["onScreen"] != true {
				t.Errorf("the outcome is not on the screen: %v", eval[string](t, b, `(() => { const c = document.querySelector('`+tc.table+` tr.row-note td'); const r = c.getBoundingClientRect(); return JSON.stringify([r.top, r.bottom, r.height, innerHeight, scrollY, c.textContent.length]); })()`))
			}
			if got["focused"] != true {
				t.Error("the outcome does not have the focus")
			}
			if got["top"] != "" || got["notes"] != float64(1) {
				t.Errorf("top of the page shows %q and there are %v row outcomes, want nothing at the top and one", got["top"], got["notes"])
			}
		})
	}
}
