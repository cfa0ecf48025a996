package metrics_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/metrics"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/usage"
)

// deploymentsTestClock is an injected clock, safe for concurrent use.
type deploymentsTestClock struct{ ns atomic.Int64 }

func (c *deploymentsTestClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *deploymentsTestClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// deploymentsTestDeployment is a valid Azure chat deployment of model.
func deploymentsTestDeployment(id, model string, priority int) config.Deployment {
	return config.Deployment{
		ID: id, Model: model, Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: "http://127.0.0.1:1", Deployment: id, APIVersion: "2024-10-21",
		Priority: priority, Weight: 1,
	}
}

func deploymentsTestRouter(t *testing.T, clk *deploymentsTestClock, deps ...config.Deployment) *router.Router {
	t.Helper()
	clk.ns.Store(time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	r, err := router.New(router.Options{Now: clk.Now, Cooldown: 10 * time.Second}, deps)
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	return r
}

// deploymentsTestPick picks the next deployment of model's chat pool.
func deploymentsTestPick(t *testing.T, r *router.Router, model string) router.Pick {
	t.Helper()
	p, err := r.Pool(model, config.ClassChat)
	if err != nil {
		t.Fatalf("Pool(%q): %v", model, err)
	}
	pick, err := p.Pick(r.Now(), nil)
	if err != nil {
		t.Fatalf("Pick: %v", err)
	}
	return pick
}

// deploymentsTestExposition is the exact text of the two deployment metrics
// for deployments east (priority 1) and west (priority 2) of gpt-4o.
func deploymentsTestExposition(eastState, westState string, eastInFlight, westInFlight string) string {
	var b strings.Builder
	b.WriteString(`# HELP spillway_deployment_in_flight Upstream attempts currently sent to the deployment.
# TYPE spillway_deployment_in_flight gauge
spillway_deployment_in_flight{deployment="east"} ` + eastInFlight + `
spillway_deployment_in_flight{deployment="west"} ` + westInFlight + `
# HELP spillway_deployment_state 1 for the deployment's current routing state, 0 for the others: serving, cooling, circuit-open, half-open or inactive.
# TYPE spillway_deployment_state gauge
`)
	for _, d := range []struct{ id, state string }{{"east", eastState}, {"west", westState}} {
		for _, s := range []string{"circuit-open", "cooling", "half-open", "inactive", "serving"} {
			v := "0"
			if s == d.state {
				v = "1"
			}
			b.WriteString(`spillway_deployment_state{deployment="` + d.id + `",model="gpt-4o",state="` + s + `"} ` + v + "\n")
		}
	}
	return b.String()
}

func TestDeploymentState(t *testing.T) {
	clk := &deploymentsTestClock{}
	r := deploymentsTestRouter(t, clk,
		deploymentsTestDeployment("east", "gpt-4o", 1),
		deploymentsTestDeployment("west", "gpt-4o", 2),
	)
	m := metrics.New(metrics.Options{Router: r})
	srv := metricsTestServer(t, m)

	var east, west router.Pick
	steps := []struct {
		name string
		do   func(t *testing.T)
		want string
	}{
		{
			name: "both serving",
			do:   func(*testing.T) {},
			want: deploymentsTestExposition("serving", "serving", "0", "0"),
		},
		{
			name: "east in flight",
			do:   func(t *testing.T) { east = deploymentsTestPick(t, r, "gpt-4o") },
			want: deploymentsTestExposition("serving", "serving", "1", "0"),
		},
		{
			name: "east rate limited cools down, west takes the next attempt",
			do: func(t *testing.T) {
				o := router.Outcome{Verdict: router.RateLimited, Cooldown: 30 * time.Second, Reason: "429 retry-after 30s"}
				r.Report(east, o, time.Millisecond)
				m.Cooldown(east.ID(), o) // what serve's OnCooldown hook does
				west = deploymentsTestPick(t, r, "gpt-4o")
				if west.ID() != "west" {
					t.Fatalf("picked %q while east cools, want west", west.ID())
				}
			},
			want: deploymentsTestExposition("cooling", "serving", "0", "1"),
		},
		{
			name: "the cooldown ends",
			do: func(*testing.T) {
				clk.Advance(31 * time.Second)
				r.Report(west, router.Outcome{Verdict: router.Success}, time.Millisecond)
			},
			want: deploymentsTestExposition("serving", "serving", "0", "0"),
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do(t)
			if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(s.want),
				"spillway_deployment_state", "spillway_deployment_in_flight"); err != nil {
				t.Error(err)
			}
		})
	}

	got := metricsTestScrape(t, m.Handler())[`spillway_cooldowns_total{deployment="east", reason_class="rate_limited"}`]
	if got != 1 {
		t.Errorf("spillway_cooldowns_total{east, rate_limited} = %v, want 1", got)
	}
}

func TestDeploymentStateCircuitAndInactive(t *testing.T) {
	clk := &deploymentsTestClock{}
	off := false
	idle := deploymentsTestDeployment("idle", "gpt-4o-mini", 1)
	idle.Active = &off
	r := deploymentsTestRouter(t, clk, deploymentsTestDeployment("flaky", "gpt-4o", 1), idle)
	for range config.DefaultFailureThreshold {
		pick := deploymentsTestPick(t, r, "gpt-4o")
		r.Report(pick, router.Outcome{Verdict: router.Transient, Reason: "upstream 503"}, time.Millisecond)
	}
	m := metrics.New(metrics.Options{Router: r})
	got := metricsTestParse(t, metricsTestGet(t, m.Handler()), func(name string) bool {
		return name == "spillway_deployment_state"
	})
	want := map[string]float64{}
	for _, d := range []struct{ id, model, state string }{{"flaky", "gpt-4o", "circuit-open"}, {"idle", "gpt-4o-mini", "inactive"}} {
		for _, s := range []string{"serving", "cooling", "circuit-open", "half-open", "inactive"} {
			v := 0.0
			if s == d.state {
				v = 1
			}
			want[`spillway_deployment_state{deployment="`+d.id+`", model="`+d.model+`", state="`+s+`"}`] = v
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spillway_deployment_state (-want +got):\n%s", diff)
	}
}

func TestDeploymentMetricsAbsentWithoutRouter(t *testing.T) {
	m := metrics.New(metrics.Options{})
	got := metricsTestParse(t, metricsTestGet(t, m.Handler()), func(name string) bool {
		return strings.HasPrefix(name, "spillway_deployment_")
	})
	if len(got) != 0 {
		t.Errorf("spillway_deployment_ samples without a router: %v", got)
	}
}

// TestModelLabel checks that a request no deployment answered keeps its
// model only when the router knows it, including models added after New.
func TestModelLabel(t *testing.T) {
	clk := &deploymentsTestClock{}
	off := false
	idle := deploymentsTestDeployment("idle", "gpt-4o-mini", 1)
	idle.Active = &off
	east := deploymentsTestDeployment("east", "gpt-4o", 1)
	r := deploymentsTestRouter(t, clk, east, idle)
	m := metrics.New(metrics.Options{Router: r})
	unanswered := func(model string) usage.Record {
		return usage.Record{Model: model, Endpoint: "chat", Status: 503, Attempts: 1}
	}
	m.Observe(unanswered("gpt-4o"))      // configured, every deployment cooling
	m.Observe(unanswered("gpt-4o-mini")) // configured, switched off
	m.Observe(unanswered("gpt-5-turbo")) // made up... for now
	if err := r.Update([]config.Deployment{east, idle, deploymentsTestDeployment("new", "gpt-5-turbo", 1)}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	metricsTestGet(t, m.Handler()) // a scrape re-reads the router's models
	m.Observe(unanswered("gpt-5-turbo"))

	got := metricsTestParse(t, metricsTestGet(t, m.Handler()), func(name string) bool {
		return name == "spillway_requests_total"
	})
	want := map[string]float64{
		`spillway_requests_total{deployment="", endpoint="chat", model="gpt-4o", status="503"}`:      1,
		`spillway_requests_total{deployment="", endpoint="chat", model="gpt-4o-mini", status="503"}`: 1,
		`spillway_requests_total{deployment="", endpoint="chat", model="unknown", status="503"}`:     1,
		`spillway_requests_total{deployment="", endpoint="chat", model="gpt-5-turbo", status="503"}`: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spillway_requests_total (-want +got):\n%s", diff)
	}
}
