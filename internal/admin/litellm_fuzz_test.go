package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/admin"
)

// FuzzLiteLLMAccessBodies sends arbitrary bodies to LiteLLM's key and team
// routes: each is answered 200 or a 4xx OpenAI-shaped error, never a 500
// or a panic, and a refused body stores nothing.
func FuzzLiteLLMAccessBodies(f *testing.F) {
	for _, seed := range []string{
		`{"key_alias":"a","duration":"30d","models":["gpt-4o"],"max_budget":1,"budget_duration":"1mo","tpm_limit":1,"rpm_limit":1}`,
		`{"team_id":"t","team_alias":"T","max_budget":5,"budget_duration":"1d","members_with_roles":[{"role":"admin"}]}`,
		`{"max_parallel_requests":3}`, `{"duration":"999999mo"}`, `{"budget_duration":"0d","max_budget":-1}`,
		`{"models":["all-proxy-models"],"metadata":null,"blocked":true}`, `{"team_id":"no such team"}`,
		`{"spend":1e308}`, `{"max_budget":1e400}`, `[]`, `null`, `{"key":"sk-x"}`, `{"models":[""]}`, "{\"team_alias\":\"\\u0000\"}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newAccessEnv(t, accessSetup{})
		for _, path := range []string{"/key/generate", "/team/new"} {
			res := e.send(request{method: "POST", path: path, body: body, header: http.Header{"Authorization": {"Bearer " + adminToken}}})
			switch {
			case res.code == http.StatusOK:
			case res.code >= 400 && res.code < 500:
				res.err(t)
			default:
				t.Fatalf("POST %s %q: status %d, want 200 or a 4xx; body %s", path, body, res.code, res.body)
			}
			if !json.Valid(res.body) {
				t.Fatalf("POST %s %q: answer is not JSON: %s", path, body, res.body)
			}
		}
	})
}

// FuzzLiteLLMDuration: any string is a duration within a century from now,
// in the future, or refused; never a panic or a time JSON cannot carry.
func FuzzLiteLLMDuration(f *testing.F) {
	for _, seed := range []string{"30s", "15m", "2h", "30d", "1w", "1mo", "1200mo", "0d", "99999999d", "-1d", "1y", "", " 7d ", "1mo1"} {
		f.Add(seed)
	}
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := admin.ParseLiteLLMDuration(s, now)
		if !ok {
			return
		}
		if !got.After(now) || got.After(now.AddDate(100, 0, 0)) {
			t.Errorf("duration %q ends at %v; want after %v and within a century", s, got, now)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("duration %q ends at %v, which JSON cannot carry: %v", s, got, err)
		}
		if period, _, ok := admin.BudgetPeriodOf(s); ok && period != "day" && period != "week" && period != "month" {
			t.Errorf("budget_duration %q maps to period %q", s, period)
		}
	})
}

func TestLiteLLMDurations(t *testing.T) {
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in         string
		want       time.Time // zero: refused
		period     string    // as a budget_duration; "" refused
		approxTerm bool
	}{
		{"30s", now.Add(30 * time.Second), "", false},
		{"2h", now.Add(2 * time.Hour), "", false},
		{"24h", now.Add(24 * time.Hour), "day", false},
		{"1d", now.Add(24 * time.Hour), "day", false},
		{"7d", now.Add(7 * 24 * time.Hour), "week", false},
		{"1w", now.Add(7 * 24 * time.Hour), "week", false},
		{"30d", now.Add(30 * 24 * time.Hour), "month", true},
		{"1mo", time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), "month", false}, // AddDate normalises Feb 31
		{"1200mo", time.Date(2126, 1, 31, 12, 0, 0, 0, time.UTC), "", false},
		{"1201mo", time.Time{}, "", false},
		{"0d", time.Time{}, "", false},
		{"1y", time.Time{}, "", false},
		{"monthly", time.Time{}, "", false},
	}
	for _, tt := range tests {
		got, ok := admin.ParseLiteLLMDuration(tt.in, now)
		if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("duration %q = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
		period, approx, ok := admin.BudgetPeriodOf(tt.in)
		if period != tt.period || approx != tt.approxTerm || ok != (tt.period != "") {
			t.Errorf("budget_duration %q = %q approx %v ok %v; want %q approx %v", tt.in, period, approx, ok, tt.period, tt.approxTerm)
		}
	}
}
