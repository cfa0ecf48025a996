package admin_test

import (
	"encoding/csv"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/usage"
)

// day is a fixed UTC midnight the usage tests put records after.
var day = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// usageBody is the JSON body of GET /admin/v1/usage.
type usageBody struct {
	Data []struct {
		Group            string  `json:"group"`
		Requests         int64   `json:"requests"`
		Errors           int64   `json:"errors"`
		PromptTokens     int64   `json:"prompt_tokens"`
		CompletionTokens int64   `json:"completion_tokens"`
		TotalTokens      int64   `json:"total_tokens"`
		Cost             float64 `json:"cost"`
		P50LatencyMS     float64 `json:"p50_latency_ms"`
		P95LatencyMS     float64 `json:"p95_latency_ms"`
	} `json:"data"`
	From    string `json:"from"`
	To      string `json:"to"`
	GroupBy string `json:"group_by"`
}

// seedUsage stores records on two days, two models and two keys.
func (e *env) seedUsage(records ...usage.Record) {
	e.t.Helper()
	if len(records) == 0 {
		rec := func(at time.Duration, model, key, event string, status int, latency time.Duration) usage.Record {
			return usage.Record{
				Time: day.Add(at), Model: model, KeyID: key, EventID: event, Deployment: model + "-eastus",
				Status: status, Latency: latency, PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120, Cost: 0.5,
			}
		}
		records = []usage.Record{
			rec(time.Hour, "gpt-4o", "key-a", "hack", 200, 100*time.Millisecond),
			rec(2*time.Hour, "gpt-4o", "key-b", "", 429, 10*time.Millisecond),
			rec(3*time.Hour, "gpt-4o-mini", "key-a", "hack", 200, 200*time.Millisecond),
			rec(25*time.Hour, "gpt-4o-mini", "key-b", "", 500, time.Second),
		}
	}
	if err := e.store.InsertUsage(e.t.Context(), records); err != nil {
		e.t.Fatalf("InsertUsage: %v", err)
	}
}

// usage GETs path and decodes the JSON body, wanting 200.
func (e *env) usage(path string) usageBody {
	e.t.Helper()
	code, raw := e.do("GET", path, nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET %s: status %d, want 200; body %s", path, code, raw)
	}
	var b usageBody
	if err := json.Unmarshal(raw, &b); err != nil {
		e.t.Fatalf("GET %s: %v; body %s", path, err, raw)
	}
	return b
}

func TestUsageByDay(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedUsage()
	got := e.usage("/admin/v1/usage?from=2026-11-20&to=2026-11-21&group_by=day")
	// Latencies are the upper bounds of their buckets (the scheme pinned by
	// store's TestLatencyBucketScheme): 10 ms is reported as 10.485, 100 ms
	// as 103.948, 200 ms as 205.821, 1 s as 1029.797.
	want := `{"data":[
		{"group":"2026-11-20","requests":3,"errors":1,"prompt_tokens":300,"completion_tokens":60,"total_tokens":360,"cost":1.5,"p50_latency_ms":103.948,"p95_latency_ms":205.821},
		{"group":"2026-11-21","requests":1,"errors":1,"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"cost":0.5,"p50_latency_ms":1029.797,"p95_latency_ms":1029.797}
	],"from":"2026-11-20T00:00:00Z","to":"2026-11-22T00:00:00Z","group_by":"day"}`
	var wantBody usageBody
	if err := json.Unmarshal([]byte(want), &wantBody); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantBody, got); diff != "" {
		t.Errorf("GET usage by day (-want +got):\n%s", diff)
	}
}

func TestUsageGroupsAndFilters(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedUsage()
	for _, tc := range []struct {
		query string
		want  map[string]int64 // group -> requests
	}{
		{"", map[string]int64{"": 4}},
		{"group_by=hour", map[string]int64{"2026-11-20T01:00Z": 1, "2026-11-20T02:00Z": 1, "2026-11-20T03:00Z": 1, "2026-11-21T01:00Z": 1}},
		{"group_by=model", map[string]int64{"gpt-4o": 2, "gpt-4o-mini": 2}},
		{"group_by=deployment", map[string]int64{"gpt-4o-eastus": 2, "gpt-4o-mini-eastus": 2}},
		{"group_by=key", map[string]int64{"key-a": 2, "key-b": 2}},
		{"group_by=event", map[string]int64{"": 2, "hack": 2}},
		{"group_by=model&key=key-a", map[string]int64{"gpt-4o": 1, "gpt-4o-mini": 1}},
		{"group_by=day&event=hack", map[string]int64{"2026-11-20": 2}},
		{"model=gpt-4o-mini&key=key-b", map[string]int64{"": 1}},
		{"group_by=model&key=nobody", map[string]int64{}},
		{"group_by=day&from=2026-11-21T00:00:00Z", map[string]int64{"2026-11-21": 1}},
		{"group_by=day&to=2026-11-20T02:00:00%2B00:00", map[string]int64{"2026-11-20": 1}},                  // to is exclusive
		{"group_by=day&from=2026-11-20T01:30:00-01:00", map[string]int64{"2026-11-20": 1, "2026-11-21": 1}}, // 02:30Z
	} {
		got := map[string]int64{}
		// The whole of November unless the case says otherwise.
		v, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		for param, value := range map[string]string{"from": "2026-11-01", "to": "2026-11-30"} {
			if !v.Has(param) {
				v.Set(param, value)
			}
		}
		body := e.usage("/admin/v1/usage?" + v.Encode())
		for _, row := range body.Data {
			got[row.Group] = row.Requests
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: requests by group (-want +got):\n%s", tc.query, diff)
		}
		if body.Data == nil {
			t.Errorf("%s: data is null, want a list", tc.query)
		}
	}
}

// TestUsageDefaultRange: without from and to, the last 7 days up to now.
func TestUsageDefaultRange(t *testing.T) {
	e := newEnv(t, setup{})
	now := time.Now().UTC()
	e.seedUsage(
		usage.Record{Time: now.Add(-time.Hour), Model: "recent", Status: 200},
		usage.Record{Time: now.Add(-6 * 24 * time.Hour), Model: "this-week", Status: 200},
		usage.Record{Time: now.Add(-8 * 24 * time.Hour), Model: "too-old", Status: 200},
	)
	body := e.usage("/admin/v1/usage?group_by=model")
	var groups []string
	for _, row := range body.Data {
		groups = append(groups, row.Group)
	}
	if diff := cmp.Diff([]string{"recent", "this-week"}, groups); diff != "" {
		t.Errorf("models in the default range (-want +got):\n%s", diff)
	}
	from, err1 := time.Parse(time.RFC3339, body.From)
	to, err2 := time.Parse(time.RFC3339, body.To)
	if err1 != nil || err2 != nil || to.Sub(from) != 7*24*time.Hour || to.Before(now.Add(-time.Minute)) {
		t.Errorf("from, to = %q, %q; want the 7 days up to now", body.From, body.To)
	}
}

func TestUsageBadParameters(t *testing.T) {
	e := newEnv(t, setup{})
	for _, tc := range []struct{ query, param string }{
		{"from=yesterday", "from"},
		{"to=2026-13-01", "to"},
		{"from=2026-11-20T25:00:00Z", "from"},
		{"from=2026-11-22&to=2026-11-21", "from"},
		{"from=2026-11-22T00:00:00Z&to=2026-11-22T00:00:00Z", "from"},
		{"group_by=week", "group_by"},
		{"format=xml", "format"},
		{"model=a&model=b", "model"},
		{"from=2026-11-01&from=2026-11-02", "from"},
	} {
		got := e.mustErr(http.StatusBadRequest, "GET", "/admin/v1/usage?"+tc.query, nil)
		if param(got) != tc.param || got.Error.Code != "invalid_parameter" || !strings.Contains(got.Error.Message, tc.param) {
			t.Errorf("%s: error %+v, want invalid_parameter naming %q", tc.query, got.Error, tc.param)
		}
	}
	if got := e.mustErr(http.StatusMethodNotAllowed, "POST", "/admin/v1/usage", nil); got.Error.Code != "method_not_allowed" {
		t.Errorf("POST: error %+v, want method_not_allowed", got.Error)
	}
	code, _ := e.doAs("GET", "/admin/v1/usage", nil, "")
	if code != http.StatusUnauthorized {
		t.Errorf("GET without the admin token: status %d, want 401", code)
	}
}

func TestUsageCSV(t *testing.T) {
	e := newEnv(t, setup{})
	e.seedUsage()
	// A model name a client chose must not become a spreadsheet formula.
	e.seedUsage(usage.Record{Time: day, Model: "=HYPERLINK(\"http://evil\")", Status: 404})
	req := httptest.NewRequestWithContext(t.Context(), "GET", "/admin/v1/usage?from=2026-11-20&to=2026-11-21&group_by=model&format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
	}
	if mt, params, err := mime.ParseMediaType(rec.Header().Get("Content-Type")); err != nil || mt != "text/csv" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type %q, want text/csv; charset=utf-8", rec.Header().Get("Content-Type"))
	}
	if got, want := rec.Header().Get("Content-Disposition"), `attachment; filename="spillway-usage-20261120T0000Z_20261122T0000Z-model.csv"`; got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatalf("body is not CSV: %v", err)
	}
	want := [][]string{
		{"group", "requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost", "p50_latency_ms", "p95_latency_ms"},
		{"'=HYPERLINK(\"http://evil\")", "1", "1", "0", "0", "0", "0", "1", "1"},
		{"gpt-4o", "2", "1", "200", "40", "240", "1", "10.485", "103.948"},
		{"gpt-4o-mini", "2", "1", "200", "40", "240", "1", "205.821", "1029.797"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}

	// Errors stay JSON, whatever the format asked.
	e.mustErr(http.StatusBadRequest, "GET", "/admin/v1/usage?format=csv&group_by=week", nil)
}
