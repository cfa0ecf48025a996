package router

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
)

// TestProberBringsDeploymentsBack: a deployment whose circuit opened is
// probed once the open period is over (by the injected clock): a good
// answer closes the circuit without any client request, a failure opens
// it again, and a deployment whose config says probe: false is left to
// client traffic.
func TestProberBringsDeploymentsBack(t *testing.T) {
	var healthy atomic.Bool
	var probes atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"code":"InternalServerError","message":"The server had an error."}}`)
			return
		}
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"p"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(up.Close)
	clock := newRouterTestClock()
	off := false
	probed := routerTestDeployment("probed", "gpt-4o", 1)
	probed.Endpoint = up.URL
	quiet := routerTestDeployment("quiet", "gpt-4o", 1)
	quiet.Endpoint, quiet.Probe = up.URL, &off
	embed := routerTestWithClass(routerTestDeployment("embed", "emb", 1), config.ClassEmbeddings)
	embed.Endpoint = up.URL
	r, err := New(Options{Now: clock.Now, FailureThreshold: 1, CircuitOpen: 30 * time.Second}, []config.Deployment{probed, quiet, embed})
	if err != nil {
		t.Fatal(err)
	}
	p := r.NewProber(up.Client().Transport, nil)
	state := func(id string) string {
		for _, s := range r.Status() {
			if s.ID == id {
				return s.State
			}
		}
		return ""
	}
	for _, id := range []string{"probed", "quiet", "embed"} {
		d, _ := r.Deployment(id)
		r.Report(r.stickForTest(d), Outcome{Verdict: Transient, Reason: "502"}, 0)
		if got := state(id); got != "circuit-open" {
			t.Fatalf("%s after a failure: %s, want circuit-open", id, got)
		}
	}
	if n := p.Round(context.Background()); n != 0 || probes.Load() != 0 {
		t.Fatalf("a round while the circuits are open probed %d (%d requests), want none", n, probes.Load())
	}
	clock.Advance(31 * time.Second)
	if n := p.Round(context.Background()); n != 2 {
		t.Errorf("a round after the open period probed %d, want 2 (probed and embed; quiet opted out)", n)
	}
	if got := state("probed"); got != "circuit-open" {
		t.Errorf("after a failed probe: %s, want circuit-open again", got)
	}
	healthy.Store(true)
	clock.Advance(31 * time.Second)
	p.Round(context.Background())
	if got := state("probed"); got != "serving" {
		t.Errorf("after a good probe: %s, want serving with no client request", got)
	}
	if got := state("quiet"); got != "half-open" {
		t.Errorf("the opted-out deployment: %s, want half-open, waiting for a client", got)
	}
}

// stickForTest takes a pick of d as a request would.
func (r *Router) stickForTest(d *Deployment) Pick {
	p, _ := r.Stick(d.Config.ID)
	return p
}

// TestProbesAreShared: replicas that share a limiter send one probe per
// window between them, and the others close their circuits on its
// success.
func TestProbesAreShared(t *testing.T) {
	var probes atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"p"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(up.Close)
	clock := newRouterTestClock()
	shared := limits.NewMemory(clock.Now)
	dep := routerTestDeployment("d", "gpt-4o", 1)
	dep.Endpoint = up.URL
	var replicas []*Router
	var probers []*Prober
	for range 3 {
		r, err := New(Options{Now: clock.Now, FailureThreshold: 1, CircuitOpen: 30 * time.Second, Limiter: shared}, []config.Deployment{dep})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := r.Deployment("d")
		r.Report(r.stickForTest(d), Outcome{Verdict: Transient, Reason: "502"}, 0)
		replicas = append(replicas, r)
		probers = append(probers, r.NewProber(up.Client().Transport, nil))
	}
	clock.Advance(31 * time.Second)
	for _, p := range probers {
		p.Round(context.Background())
	}
	if n := probes.Load(); n != 1 {
		t.Errorf("three replicas sent %d probes, want 1", n)
	}
	for i, r := range replicas {
		if st := r.Status()[0].State; st != "serving" {
			t.Errorf("replica %d: %s after the shared probe, want serving", i, st)
		}
	}
}

func TestStatusSaysWhenTheProbeIsDue(t *testing.T) {
	clock := newRouterTestClock()
	r, err := New(Options{Now: clock.Now, FailureThreshold: 1, CircuitOpen: 30 * time.Second}, []config.Deployment{routerTestDeployment("d", "gpt-4o", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Status()[0]; s.ProbeAt != nil {
		t.Errorf("a closed circuit has probe_at %v, want none", s.ProbeAt)
	}
	d, _ := r.Deployment("d")
	r.Report(r.stickForTest(d), Outcome{Verdict: Transient, Reason: "502"}, 0)
	s := r.Status()[0]
	if want := clock.Now().Add(30 * time.Second); s.ProbeAt == nil || !s.ProbeAt.Equal(want) {
		t.Errorf("probe_at %v, want %v", s.ProbeAt, want)
	}
}
