package admin_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/usage"
)

// export GETs the export at query and returns the response.
func (e *env) export(query string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequestWithContext(e.t.Context(), "GET", "/admin/v1/usage/export?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func TestUsageExportCSV(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedUsage()
	e.seedUsage(usage.Record{Time: day.Add(90 * time.Minute), RequestID: "req-x", KeyID: "=cmd", TeamID: "team-1", Model: "gpt-4o",
		Status: 200, Attempts: 2, Latency: 1500 * time.Microsecond, PromptTokens: 7, TotalTokens: 7, CachedTokens: 3, Cost: 0.25, BatchID: "batch_1"})
	rec := e.export("from=2026-11-20T00:00:00Z&to=2026-11-20T02:00:00Z&format=csv")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
	}
	if got, want := rec.Header().Get("Content-Disposition"), `attachment; filename="spillway-usage-records-20261120T0000Z_20261120T0200Z.csv"`; got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatalf("body is not CSV: %v", err)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want a header and the 2 records of the range: %q", len(rows), rows)
	}
	if rows[0][0] != "time" || rows[0][len(rows[0])-1] != "batch_id" {
		t.Errorf("header %q", rows[0])
	}
	want := []string{"2026-11-20T01:30:00Z", "req-x", "'=cmd", "team-1", "", "", "gpt-4o", "", "", "200", "2", "false",
		"1.5", "0", "7", "0", "7", "3", "0", "0", "false", "0.25", "", "batch_1"}
	if diff := cmp.Diff(want, rows[2]); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestUsageExportNDJSON(t *testing.T) {
	e := newEnv(t, setup{})
	// More records than one flush, in two batches, out of time order.
	var late, early []usage.Record
	for i := range 1500 {
		r := usage.Record{Time: day.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprintf("r-%04d", i), Status: 200}
		if i%2 == 0 {
			late = append(late, r)
		} else {
			early = append(early, r)
		}
	}
	e.seedUsage(late...)
	e.seedUsage(early...)
	rec := e.export("from=2026-11-20&to=2026-11-20&format=ndjson")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, Content-Type %q; want 200, application/x-ndjson", rec.Code, rec.Header().Get("Content-Type"))
	}
	sc := bufio.NewScanner(rec.Body)
	n := 0
	for sc.Scan() {
		var got struct {
			Time      string `json:"time"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %d: %v: %s", n+1, err, sc.Bytes())
		}
		if want := fmt.Sprintf("r-%04d", n); got.RequestID != want {
			t.Fatalf("line %d: request %q, want %q (oldest first)", n+1, got.RequestID, want)
		}
		n++
	}
	if n != 1500 {
		t.Errorf("exported %d records, want 1500", n)
	}
}

func TestUsageExportBadParameters(t *testing.T) {
	e := newEnv(t, setup{})
	for _, tc := range []struct{ query, param string }{
		{"format=xlsx", "format"},
		{"format=json", "format"},
		{"from=yesterday", "from"},
		{"from=2026-11-22&to=2026-11-21", "from"},
		{"group_by=day", "group_by"},
		{"format=csv&format=ndjson", "format"},
	} {
		got := e.mustErr(http.StatusBadRequest, "GET", "/admin/v1/usage/export?"+tc.query, nil)
		if param(got) != tc.param || !strings.Contains(got.Error.Message, tc.param) {
			t.Errorf("%s: error %+v, want one naming %q", tc.query, got.Error, tc.param)
		}
	}
	if code, _ := e.doAs("GET", "/admin/v1/usage/export", nil, ""); code != http.StatusUnauthorized {
		t.Errorf("GET without the admin token: status %d, want 401", code)
	}
}

func TestUsageByTeamAndTeamFilter(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedUsage(
		usage.Record{Time: day.Add(time.Hour), KeyID: "k1", TeamID: "red", Status: 200, TotalTokens: 10},
		usage.Record{Time: day.Add(2 * time.Hour), KeyID: "k2", TeamID: "red", Status: 500, TotalTokens: 5},
		usage.Record{Time: day.Add(3 * time.Hour), KeyID: "k3", TeamID: "blue", Status: 200, TotalTokens: 1},
	)
	b := e.usage("/admin/v1/usage?from=2026-11-20&to=2026-11-20&group_by=team")
	var got []string
	for _, r := range b.Data {
		got = append(got, fmt.Sprintf("%s:%d/%d/%d", r.Group, r.Requests, r.Errors, r.TotalTokens))
	}
	if diff := cmp.Diff([]string{"blue:1/0/1", "red:2/1/15"}, got); diff != "" {
		t.Errorf("by team (-want +got):\n%s", diff)
	}
	b = e.usage("/admin/v1/usage?from=2026-11-20&to=2026-11-20&team=red&group_by=key")
	if len(b.Data) != 2 || b.Data[0].Group != "k1" || b.Data[1].Group != "k2" {
		t.Errorf("team=red by key: %+v, want k1 and k2", b.Data)
	}
}

// TestUsageExportStoreDown: a store that fails before the first record
// answers with the usual error JSON, not a 200 and a cut-off download.
func TestUsageExportStoreDown(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedUsage()
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	rec := e.export("from=2026-11-20T00:00:00Z&to=2026-11-20T02:00:00Z")
	if rec.Code < 500 {
		t.Fatalf("status %d, want a 5xx; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want the error JSON", ct)
	}
	var body struct {
		Error struct{ Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Message == "" {
		t.Errorf("body %q is not an OpenAI-shaped error (%v)", rec.Body, err)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != "" {
		t.Errorf("Content-Disposition %q on an error", cd)
	}
}

// TestUsageExportEmptyRange: no records is a CSV of its header row.
func TestUsageExportEmptyRange(t *testing.T) {
	e := newEnv(t, setup{})
	rec := e.export("from=2026-11-20T00:00:00Z&to=2026-11-20T02:00:00Z")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil || len(rows) != 1 || rows[0][0] != "time" {
		t.Errorf("rows %q (%v), want the header row only", rows, err)
	}
}
