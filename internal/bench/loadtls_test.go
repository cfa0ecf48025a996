package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/mock"
)

// TestRunOverUpstreamTLS: with the mock on HTTPS the load scenarios run
// as on plain HTTP, bench's own client trusting the mock's authority, and
// each row says what its target sent the mock: HTTP/1.1 from bench's
// client, HTTP/2 from the bare proxy and the gateway.
func TestRunOverUpstreamTLS(t *testing.T) {
	cfg := shortConfig()
	sp := spawn(t, cfg, SpawnOptions{UpstreamTLS: true})
	if sp.MockCAs == nil || sp.Protocols == nil {
		t.Fatalf("Spawn with UpstreamTLS: MockCAs %v, Protocols set %v; want both", sp.MockCAs, sp.Protocols != nil)
	}
	rep := runClean(t, cfg, sp.Endpoints)
	if got, want := len(rep.Scenarios), len(cfg.Scenarios); got != want {
		t.Fatalf("scenarios: got %d, want %d", got, want)
	}
	want := map[string]string{TargetMock: "HTTP/1.1", TargetProxy: "HTTP/2.0", TargetGateway: "HTTP/2.0"}
	for _, s := range rep.Scenarios {
		if got := len(s.Results); got != len(want) {
			t.Errorf("%s: got %d rows, want %d", s.Name, got, len(want))
		}
		for _, r := range s.Results {
			if r.Requests <= 0 {
				t.Errorf("%s/%s: no request answered", s.Name, r.Target)
			}
			if r.Upstream == nil {
				t.Errorf("%s/%s: no record of what it sent the mock", s.Name, r.Target)
				continue
			}
			if got := r.Upstream.Requests[want[r.Target]]; got < r.Requests {
				t.Errorf("%s/%s: %s requests to the mock %d, fewer than the %d answered (all: %v)", s.Name, r.Target, want[r.Target], got, r.Requests, r.Upstream)
			}
		}
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"mock over HTTPS with HTTP/2 offered", "  gateway sent the mock: HTTP/2.0 ", "  bare-proxy sent the mock: HTTP/2.0 ", "  bench's client sent the mock: HTTP/1.1 "} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("report:\n%s\nwant it to contain %q", b.String(), w)
		}
	}
}

// TestJSONSaysUpstreamTLS: the JSON report says, as the text does, that
// the mock was on HTTPS and what each target sent it (review finding).
func TestJSONSaysUpstreamTLS(t *testing.T) {
	up := mock.ProtocolCounts{}
	rep := &Report{
		Concurrency: 1, Duration: time.Second, UpstreamTLS: true,
		Scenarios: []ScenarioReport{{Name: ScenarioChat, GatewayPeakRSS: -1, Results: []Result{
			{Target: TargetGateway, Requests: 10, Elapsed: time.Second, RPS: 10, Upstream: &up},
		}}},
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Scenarios []struct {
			Targets []map[string]any `json:"targets"`
		} `json:"scenarios"`
	}
	var top map[string]any
	if err := json.Unmarshal(js.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "mock over HTTPS") {
		t.Fatalf("text report does not say HTTPS either:\n%s", text.String())
	}
	hasKey := func(m map[string]any, part string) bool {
		for k := range m {
			if strings.Contains(k, part) {
				return true
			}
		}
		return false
	}
	if !hasKey(top, "tls") {
		t.Errorf("JSON report has no upstream TLS field; the text says %q:\n%s", "mock over HTTPS with HTTP/2 offered", js.String())
	}
	if !hasKey(doc.Scenarios[0].Targets[0], "upstream") {
		t.Errorf("JSON target has no record of what it sent the mock (Result.Upstream):\n%s", js.String())
	}
}
