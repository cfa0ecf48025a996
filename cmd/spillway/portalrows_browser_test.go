package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminRowOutcome: on a phone, the outcome of a row's action
// (a key revoked; a deployment deactivated; a Deactivate refused because
// someone removed the deployment meanwhile) shows in a line right under
// that row, on the screen, with the focus, and not at the top of the
// page, which a long list scrolled down leaves out of sight. The
// deployments' live state, drawn again every few seconds, keeps the line
// and its focus; an outcome whose row is on a tab the user has left goes
// to the top of the page.
func TestBrowserAdminRowOutcome(t *testing.T) {
	s := startBrowserApp(t)
	for i := range 12 {
		if status, body := call(t, http.MethodPost, s.url+"/admin/v1/keys", browserAdmin, map[string]any{"name": fmt.Sprintf("key-%02d", i)}); status != http.StatusCreated {
			t.Fatalf("create a key: status %d, %v", status, body)
		}
	}
	for _, id := range []string{"gpt4o-gone", "gpt4o-stays"} {
		if status, body := call(t, http.MethodPost, s.url+"/admin/v1/deployments", browserAdmin, map[string]any{
			"id": id, "model": "gpt-4o", "class": "openai-chat", "provider": "azure", "endpoint": "http://127.0.0.1:1",
			"deployment": "gpt-4o", "api_key": "k", "active": true,
		}); status != http.StatusCreated {
			t.Fatalf("add a deployment: status %d, %v", status, body)
		}
	}

	b := newBrowser(t, 390, 844)
	b.do(t, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	adminSignIn(t, b, s.url)
	b.do(t, "say yes to every confirm", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))

	// note reads the row outcome line of table: the row it is under, what
	// it says, whether it is on the screen and has the focus, and what
	// the top of the page shows.
	note := func(table string) map[string]any {
		return eval[map[string]any](t, b, `(() => {
			const note = document.querySelector('`+table+` tr.row-note');
			const top = Array.from(document.querySelectorAll('#admin-notice, #admin-error')).filter((p) => !p.hidden).map((p) => p.id).join(',');
			if (!note) return { top, notes: 0 };
			const cell = note.cells[0], r = cell.getBoundingClientRect();
			const prev = note.previousElementSibling;
			return {
				after: prev ? prev.dataset.id : '', kind: cell.className, text: cell.textContent,
				onScreen: r.top >= 0 && r.bottom <= innerHeight + 1 && r.height > 0, // layout in fractions of a pixel
				focused: document.activeElement === cell,
				top, notes: document.querySelectorAll('tr.row-note').length,
			};
		})()`)
	}
	check := func(t *testing.T, got map[string]any, id, kind, says string) {
		t.Helper()
		if got["notes"] != float64(1) {
			t.Fatalf("%v row outcomes, want one (top of the page shows %q)", got["notes"], got["top"])
		}
		if got["after"] != id {
			t.Errorf("the outcome is under row %q, want under %q", got["after"], id)
		}
		if got["kind"] != kind || !strings.Contains(got["text"].(string), says) {
			t.Errorf("the outcome is %v %q, want %s saying %q", got["kind"], got["text"], kind, says)
		}
		if got["onScreen"] != true {
			t.Error("the outcome is not on the screen")
		}
		if got["focused"] != true {
			t.Error("the outcome does not have the focus")
		}
		if got["top"] != "" {
			t.Errorf("the top of the page shows %q too", got["top"])
		}
	}

	for _, tc := range []struct {
		name, tab, table string
		row              func() string // the data-id of the row acted on
		before           func()        // what happens between drawing and pressing
		button           string        // within the row
		kind, says       string
		redraw           bool // draw the list again afterwards, as the live state does
	}{
		{
			name: "revoke the last key", tab: "keys", table: "#keys-table",
			row: func() string {
				return eval[string](t, b, `Array.from(document.querySelectorAll('#keys-table tbody tr')).filter((r) => r.textContent.includes('active')).pop().dataset.id`)
			},
			button: "button", kind: "notice", says: "revoked",
		},
		{
			name: "deactivate a deployment, then its live state draws", tab: "deployments", table: "#deployments-table",
			row:    func() string { return "gpt4o-stays" },
			button: "button.secondary", kind: "notice", says: "deactivated", redraw: true,
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
			// The outcome of this press: a line of its kind under this row
			// (an earlier press's line may still be on the page).
			waitFor[bool](t, b, "the row's outcome", `!!document.querySelector('`+row+` + tr.row-note td.`+tc.kind+`')`)
			check(t, note(tc.table), id, tc.kind, tc.says)
			if tc.redraw {
				b.do(t, "draw the list again", chromedp.Evaluate[chromedp.Void](`window.drawn = false; reload('`+tc.tab+`').then(() => { window.drawn = true; })`))
				waitFor[bool](t, b, "the list drawn again", `window.drawn`)
				check(t, note(tc.table), id, tc.kind, tc.says)
			}
		})
	}

	t.Run("an outcome for a tab left meanwhile goes to the top", func(t *testing.T) {
		b.do(t, "open the keys tab", chromedp.Click(chromedp.ID("tab-keys")))
		b.do(t, "a deployment's outcome arrives", chromedp.Evaluate[chromedp.Void](`rowOutcome($('deployments-table'), 'gpt4o-stays', 'notice', 'Deployment gpt4o-stays activated.')`))
		got := note("#deployments-table")
		if got["notes"] != float64(0) || got["top"] != "admin-notice" {
			t.Errorf("%v row outcomes, the top of the page shows %q; want none under the hidden row and the notice at the top", got["notes"], got["top"])
		}
	})
}
