package mock

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFault(t *testing.T) {
	tests := []struct {
		spec string
		want Fault
	}{
		{"429", Fault{Kind: FaultStatus, Status: 429, Probability: 1}},
		{"429:0.25", Fault{Kind: FaultStatus, Status: 429, Probability: 0.25}},
		{"429:retry-after=5", Fault{Kind: FaultStatus, Status: 429, Probability: 1, RetryAfter: 5 * time.Second}},
		{"429:0.5:retry-after=5,retry-after-ms=4500", Fault{Kind: FaultStatus, Status: 429, Probability: 0.5, RetryAfter: 5 * time.Second, RetryAfterPrecise: 4500 * time.Millisecond}},
		{" 503 : 1 ", Fault{Kind: FaultStatus, Status: 503, Probability: 1}},
		{"503:retry-after=2", Fault{Kind: FaultStatus, Status: 503, Probability: 1, RetryAfter: 2 * time.Second}},
		{"400", Fault{Kind: FaultStatus, Status: 400, Probability: 1}},
		{"400:code=context_length_exceeded", Fault{Kind: FaultStatus, Status: 400, Probability: 1, Code: "context_length_exceeded"}},
		{"599:0.001", Fault{Kind: FaultStatus, Status: 599, Probability: 0.001}},
		{"hang", Fault{Kind: FaultHang, Probability: 1}},
		{"HANG:0.1", Fault{Kind: FaultHang, Probability: 0.1}},
		{"reset:1", Fault{Kind: FaultReset, Probability: 1}},
		{"reset-mid-stream", Fault{Kind: FaultResetMidStream, Probability: 1, After: DefaultResetAfter}},
		{"reset-mid-stream:0.3:after=0", Fault{Kind: FaultResetMidStream, Probability: 0.3}},
		{"reset-mid-stream:after=10", Fault{Kind: FaultResetMidStream, Probability: 1, After: 10}},
		{"slow", Fault{Kind: FaultSlow, Probability: 1, TokensPerSecond: DefaultSlowTokensPerSecond}},
		{"slow:0.5:tps=0.5", Fault{Kind: FaultSlow, Probability: 0.5, TokensPerSecond: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseFault(tt.spec)
			if err != nil {
				t.Fatalf("ParseFault(%q): %v", tt.spec, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFault(%q) (-want +got):\n%s", tt.spec, diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestParseFaultErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", "empty spec"},
		{"x", `unknown fault kind "x"`},
		{"boom:0.5", `unknown fault kind "boom"`},
		{"302", "status 302 is not an error; want 400-599"},
		{"600", "status 600 is not an error"},
		{"4290", "bad status"},
		{"42x", "bad status"},
		{"429:0", "probability must be in (0,1]"},
		{"429:1.5", "probability must be in (0,1]"},
		{"429:-0.1", "probability must be in (0,1]"},
		{"429:NaN", "probability must be in (0,1]"},
		{"429:half", `bad probability "half"`},
		{"429:", `bad probability ""`},
		{"429:0.5:5", `unexpected "5" after the probability`},
		{"429:retry-after=1:0.5", "separate parameters with commas"},
		{"429:retry-after=0", "retry-after must be a whole number of seconds in [1,86400]"},
		{"429:retry-after=1.5", "retry-after must be a whole number of seconds"},
		{"429:retry-after-ms=-1", "retry-after-ms must be a whole number of milliseconds"},
		{"429:retry-after=1,retry-after=2", `parameter "retry-after" given twice`},
		{"429:tps=3", `unknown parameter "tps" for fault 429; want retry-after, retry-after-ms`},
		{"429:code=content_filter", `unknown parameter "code" for fault 429`},
		{"400:code=nope", `unknown code "nope" for fault 400`},
		{"429:retry-after", `bad probability "retry-after"; want a number in (0,1] such as 0.25, or KEY=VALUE parameters`},
		{"429:0.5:retry-after", `unexpected "retry-after" after the probability`},
		{"429:0.5:retry-after=1,x", `bad parameter "x"; want KEY=VALUE`},
		{"429:=5", "bad parameter"},
		{"hang:after=1", "fault hang takes no parameters"},
		{"reset:0.5:x=1", "fault reset takes no parameters"},
		{"reset-mid-stream:after=-1", "after must be a whole number of events"},
		{"slow:tps=0", "tps must be a number of tokens per second"},
		{"slow:tps=inf", "tps must be a number of tokens per second"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParseFault(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseFault(%q) = %v, want an error containing %q", tt.spec, err, tt.want)
			}
		})
	}
}

func TestFaultString(t *testing.T) {
	tests := []struct {
		f    Fault
		want string
	}{
		{Fault{Kind: FaultStatus, Status: 503}, "503"},
		{Fault{Kind: FaultStatus, Status: 429, Probability: 0.5, RetryAfter: 1500 * time.Millisecond, RetryAfterPrecise: 1500 * time.Millisecond}, "429:0.5:retry-after=2,retry-after-ms=1500"},
		{Fault{Kind: FaultResetMidStream, After: 0}, "reset-mid-stream:after=0"},
		{Fault{Kind: FaultSlow}, "slow"},
		{Fault{Kind: FaultSlow, TokensPerSecond: 7.5, Probability: 1}, "slow:tps=7.5"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestFaultValidate(t *testing.T) {
	tests := []struct {
		name string
		f    Fault
		ok   bool
	}{
		{"zero probability means always", Fault{Kind: FaultHang}, true},
		{"no kind", Fault{}, false},
		{"status 200", Fault{Kind: FaultStatus, Status: 200}, false},
		{"probability 2", Fault{Kind: FaultReset, Probability: 2}, false},
		{"NaN probability", Fault{Kind: FaultReset, Probability: math.NaN()}, false},
		{"code on 503", Fault{Kind: FaultStatus, Status: 503, Code: "content_filter"}, false},
		{"negative after", Fault{Kind: FaultResetMidStream, After: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.f.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func FuzzParseFault(f *testing.F) {
	for _, s := range []string{
		"429", "429:0.5:retry-after=5,retry-after-ms=250", "503:0.01", "400:code=context_length_exceeded",
		"hang:0.2", "reset", "reset-mid-stream:after=0", "slow:0.5:tps=3", "x", "429:retry-after=1:0.5", "::", ",=,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := ParseFault(spec)
		if err != nil {
			if got != (Fault{}) {
				t.Errorf("ParseFault(%q) failed with a non-zero Fault %+v", spec, got)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Errorf("ParseFault(%q) = %+v, which does not validate: %v", spec, got, err)
		}
		again, err := ParseFault(got.String())
		if err != nil {
			t.Fatalf("ParseFault(%q).String() = %q does not parse: %v", spec, got.String(), err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("round trip of %q via %q (-first +second):\n%s", spec, got.String(), diff)
		}
	})
}

func mustFault(t *testing.T, spec string) Fault {
	t.Helper()
	f, err := ParseFault(spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFaultRateLimited(t *testing.T) {
	tests := []struct {
		spec, path                string
		wantRetryAfter, wantMS    string
		wantOperation, wantAPIVer string
		wantSeconds               string
	}{
		{"429:retry-after=7", "/v1/chat/completions", "7", "", "ChatCompletions_Create", "2024-10-21", "7 seconds."},
		{"429:retry-after=1,retry-after-ms=800", "/openai/deployments/d/embeddings?api-version=2024-06-01", "1", "800", "Embeddings_Create", "2024-06-01", "1 second."},
		{"429:retry-after-ms=2500", "/v1/completions", "", "2500", "Completions_Create", "2024-10-21", "3 seconds."},
		{"429", "/v1/chat/completions", "", "", "ChatCompletions_Create", "2024-10-21", "1 second."},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, ts := newTestServer(t, Options{Faults: []Fault{mustFault(t, tt.spec)}})
			resp, body := fetch(t, ts, "POST", tt.path, `{}`)
			if resp.StatusCode != 429 {
				t.Fatalf("status = %d, want 429", resp.StatusCode)
			}
			got := [2]string{resp.Header.Get("retry-after"), resp.Header.Get("retry-after-ms")}
			if want := [2]string{tt.wantRetryAfter, tt.wantMS}; got != want {
				t.Errorf("retry-after, retry-after-ms = %q, want %q", got, want)
			}
			want := `{"error":{"code":"429","message":"Requests to the ` + tt.wantOperation + ` Operation under Azure OpenAI API version ` + tt.wantAPIVer +
				` have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after ` + tt.wantSeconds +
				` Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}`
			if diff := cmp.Diff(want, string(body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFaultStatusBodies(t *testing.T) {
	generic := func(msg string) string {
		return `{"error":{"message":"` + msg + `","type":"invalid_request_error","param":null,"code":null}}`
	}
	tests := []struct {
		spec     string
		wantBody string
	}{
		{"400", ContentFilterBody},
		{"400:code=content_filter", ContentFilterBody},
		{"400:code=context_length_exceeded", ContextLengthBody},
		{"401", Azure401Body},
		{"403", Azure403Body},
		{"404", Azure404Body},
		{"408", generic("Request Timeout.")},
		{"499", generic("Error 499.")},
		{"500", ServerErrorBody},
		{"502", ServerErrorBody},
		{"503", ServerErrorBody},
		{"504", ServerErrorBody},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			f := mustFault(t, tt.spec)
			_, ts := newTestServer(t, Options{Faults: []Fault{f}})
			resp, body := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("m", "x", ""))
			if resp.StatusCode != f.Status {
				t.Errorf("status = %d, want %d", resp.StatusCode, f.Status)
			}
			if diff := cmp.Diff(tt.wantBody, string(body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if resp.Header.Get("retry-after") != "" {
				t.Errorf("retry-after = %q, want none", resp.Header.Get("retry-after"))
			}
		})
	}
}

func TestFaultsApplyEverywhere(t *testing.T) {
	_, ts := newTestServer(t, Options{Faults: []Fault{{Kind: FaultStatus, Status: 503}}})
	for _, p := range []struct{ method, path string }{
		{"GET", "/v1/models"},
		{"POST", "/openai/deployments/d/images/generations" + azureQuery},
		{"POST", "/indexes/i/docs/search"},
	} {
		if resp, _ := fetch(t, ts, p.method, p.path, `{}`); resp.StatusCode != 503 {
			t.Errorf("%s %s: status %d, want 503", p.method, p.path, resp.StatusCode)
		}
	}
	// Routing and auth errors come before faults.
	if resp, _ := fetch(t, ts, "POST", "/v1/unknown", `{}`); resp.StatusCode != 404 {
		t.Errorf("unknown path: status %d, want 404", resp.StatusCode)
	}
}

// hangServer serves m and reports when each handler returns.
func hangServer(t *testing.T, m *Server) (*httptest.Server, <-chan struct{}, <-chan struct{}) {
	started := make(chan struct{}, 1)
	returned := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { returned <- struct{}{} }()
		started <- struct{}{}
		m.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		m.Close()
		ts.Close()
	})
	return ts, started, returned
}

func TestFaultHang(t *testing.T) {
	m := New(Options{Faults: []Fault{mustFault(t, "hang")}})
	ts, started, returned := hangServer(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		resp, err := send(ctx, ts, "POST", "/v1/chat/completions", chatBody("m", "x", ""))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("request error = %v, want context.Canceled", err)
	}
	<-returned // the handler noticed the client leaving
}

func TestCloseReleasesHang(t *testing.T) {
	m := New(Options{Faults: []Fault{mustFault(t, "hang")}})
	ts, started, returned := hangServer(t, m)
	errc := make(chan error, 1)
	go func() {
		resp, err := send(context.Background(), ts, "POST", "/v1/chat/completions", chatBody("m", "x", ""))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	m.Close()
	<-returned
	if err := <-errc; err == nil {
		t.Error("hung request answered after Close, want a transport error")
	}
}

// noKeepAlive returns a client whose every request uses a new connection,
// so a reset cannot be mistaken for a stale pooled connection.
func noKeepAlive(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestFaultReset(t *testing.T) {
	_, ts := newTestServer(t, Options{Faults: []Fault{mustFault(t, "reset")}})
	c := noKeepAlive(t)
	for _, path := range []string{"/v1/chat/completions", "/v1/embeddings"} {
		resp, err := c.Post(ts.URL+path, "application/json", strings.NewReader(chatBody("m", "x", "")))
		if err == nil {
			resp.Body.Close()
			t.Errorf("POST %s: got status %d, want a transport error", path, resp.StatusCode)
		}
	}
}

func TestFaultResetMidStream(t *testing.T) {
	tests := []struct {
		spec       string
		extra      string
		wantEvents int
	}{
		{"reset-mid-stream", "", DefaultResetAfter},
		{"reset-mid-stream:after=1", "", 1},
		{"reset-mid-stream:after=0", "", 0},
		{"reset-mid-stream:after=10", `"stream_options":{"include_usage":true}`, 10},
		// Shorter than the budget: every event arrives, then the reset
		// instead of [DONE].
		{"reset-mid-stream:after=1000", `"max_tokens":2,"stream_options":{"include_usage":true}`, 1 + 2 + 1 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, ts := newTestServer(t, Options{Faults: []Fault{mustFault(t, tt.spec)}})
			extra := `"stream":true`
			if tt.extra != "" {
				extra += "," + tt.extra
			}
			resp, err := noKeepAlive(t).Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("m", "x", extra)))
			if err != nil {
				if tt.wantEvents == 0 {
					return // the reset may beat the response headers
				}
				t.Fatalf("request failed before the stream started: %v", err)
			}
			defer resp.Body.Close()
			events, err := sseEvents(resp.Body)
			if err == nil {
				t.Errorf("stream ended cleanly, want a read error")
			}
			if len(events) != tt.wantEvents {
				t.Errorf("got %d events before the error, want %d: %q", len(events), tt.wantEvents, events)
			}
			for _, ev := range events {
				if ev == "[DONE]" {
					t.Error("a reset stream sent [DONE]")
				}
			}
		})
	}
}

func TestFaultResetMidStreamNonStreaming(t *testing.T) {
	_, ts := newTestServer(t, Options{Faults: []Fault{mustFault(t, "reset-mid-stream")}})
	resp, err := noKeepAlive(t).Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("m", "x", "")))
	if err != nil {
		t.Fatalf("request failed before the headers: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("read the whole body %s, want an error", body)
	}
	if resp.StatusCode != 200 || resp.ContentLength <= 0 || int64(len(body)) != resp.ContentLength/2 {
		t.Errorf("status %d, got %d of %d bytes; want 200 and half of the body", resp.StatusCode, len(body), resp.ContentLength)
	}
}

// statuses sends n sequential requests and returns their status codes.
func statuses(t *testing.T, ts *httptest.Server, n int) []int {
	t.Helper()
	var got []int
	for range n {
		resp, _ := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("m", "x", ""))
		got = append(got, resp.StatusCode)
	}
	return got
}

func TestFaultProbabilityIsSeeded(t *testing.T) {
	faults := []Fault{mustFault(t, "503:0.5")}
	_, a := newTestServer(t, Options{Seed: 42, Faults: faults})
	_, b := newTestServer(t, Options{Seed: 42, Faults: faults})
	_, c := newTestServer(t, Options{Seed: 7, Faults: faults})
	const n = 64
	sa, sb, sc := statuses(t, a, n), statuses(t, b, n), statuses(t, c, n)
	if diff := cmp.Diff(sa, sb); diff != "" {
		t.Errorf("same seed, different faults (-a +b):\n%s", diff)
	}
	if cmp.Equal(sa, sc) {
		t.Errorf("seeds 42 and 7 gave the same %d statuses", n)
	}
	count := map[int]int{}
	for _, s := range sa {
		count[s]++
	}
	if count[200] == 0 || count[503] == 0 || count[200]+count[503] != n {
		t.Errorf("statuses = %v, want a mix of 200 and 503 only", count)
	}
}

func TestFaultOrder(t *testing.T) {
	// The first fault that hits decides; slow does not stop the check.
	_, ts := newTestServer(t, Options{Faults: []Fault{
		{Kind: FaultSlow, TokensPerSecond: 1e6},
		{Kind: FaultStatus, Status: 502},
		{Kind: FaultStatus, Status: 429},
	}})
	if got := statuses(t, ts, 2); !cmp.Equal(got, []int{502, 502}) {
		t.Errorf("statuses = %v, want [502 502]", got)
	}
}

func TestSetFaults(t *testing.T) {
	m, ts := newTestServer(t, Options{})
	var got []int
	got = append(got, statuses(t, ts, 1)...)
	m.SetFaults([]Fault{{Kind: FaultStatus, Status: 500}})
	got = append(got, statuses(t, ts, 1)...)
	m.SetFaults(nil)
	got = append(got, statuses(t, ts, 1)...)
	if diff := cmp.Diff([]int{200, 500, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	faults := []Fault{{Kind: FaultStatus, Status: 500}}
	m.SetFaults(faults)
	faults[0].Status = 404 // the server keeps its own copy
	if got := m.Faults()[0].Status; got != 500 {
		t.Errorf("after the caller's edit, fault status = %d, want 500", got)
	}
}

func TestFaultSlowKeepsStream(t *testing.T) {
	_, ts := newTestServer(t, Options{Faults: []Fault{mustFault(t, "slow:tps=5000")}})
	resp, err := send(context.Background(), ts, "POST", "/v1/chat/completions", chatBody("m", "x", `"stream":true,"max_tokens":5`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events, err := sseEvents(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(events), 1+5+1+1; got != want {
		t.Errorf("got %d events, want %d", got, want)
	}
	_, body := fetch(t, ts, "POST", "/v1/chat/completions", chatBody("m", "x", `"max_tokens":5`))
	if got := decode[chatCompletion](t, body); got.Usage.CompletionTokens != 5 {
		t.Errorf("slow non-streaming answer has %d tokens, want 5", got.Usage.CompletionTokens)
	}
}

func TestLatencyClientLeaves(t *testing.T) {
	m := New(Options{Latency: time.Hour})
	ts, started, returned := hangServer(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		resp, err := send(ctx, ts, "GET", "/v1/models", "")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("request error = %v, want context.Canceled", err)
	}
	<-returned
}
