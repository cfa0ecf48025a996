package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spillwayhq/spillway/internal/config"
)

// routerTestEpoch is where every injected clock starts.
var routerTestEpoch = time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)

// routerTestClock is an injected clock, safe for concurrent use.
type routerTestClock struct{ ns atomic.Int64 }

func newRouterTestClock() *routerTestClock {
	c := &routerTestClock{}
	c.ns.Store(routerTestEpoch.UnixNano())
	return c
}

func (c *routerTestClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *routerTestClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// routerTestDeployment is a valid azure chat deployment of model.
func routerTestDeployment(id, model string, priority int) config.Deployment {
	return config.Deployment{
		ID:         id,
		Model:      model,
		Class:      config.ClassChat,
		Provider:   config.ProviderAzure,
		Endpoint:   "http://127.0.0.1:1",
		Deployment: id,
		APIVersion: "2024-10-21",
		Priority:   priority,
		Weight:     1,
	}
}

// routerTestInactive returns d switched off.
func routerTestInactive(d config.Deployment) config.Deployment {
	off := false
	d.Active = &off
	return d
}

// routerTestWithClass returns d serving class.
func routerTestWithClass(d config.Deployment, class string) config.Deployment {
	d.Class = class
	return d
}

// newRouterTest builds a router on clk with test-sized defaults: a 10s
// cooldown, a threshold of 3 and a 1m open circuit unless opts says otherwise.
func newRouterTest(t testing.TB, clk *routerTestClock, opts Options, deps ...config.Deployment) *Router {
	t.Helper()
	opts.Now = clk.Now
	if opts.Cooldown == 0 {
		opts.Cooldown = 10 * time.Second
	}
	if opts.FailureThreshold == 0 {
		opts.FailureThreshold = 3
	}
	if opts.CircuitOpen == 0 {
		opts.CircuitOpen = time.Minute
	}
	r, err := New(opts, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// routerTestPool returns the chat pool of model.
func routerTestPool(t testing.TB, r *Router, model string) *Pool {
	t.Helper()
	p, err := r.Pool(model, config.ClassChat)
	if err != nil {
		t.Fatalf("Pool(%q): %v", model, err)
	}
	return p
}

// routerTestPickID picks the deployment id of p by marking every other
// deployment tried, so tests can aim a Report at one deployment.
func routerTestPickID(t testing.TB, r *Router, p *Pool, id string) Pick {
	t.Helper()
	var others []*Deployment
	for _, d := range p.Deployments() {
		if d.ID() != id {
			others = append(others, d)
		}
	}
	pick, err := p.Pick(r.Now(), others)
	if err != nil {
		t.Fatalf("Pick(%s): %v", id, err)
	}
	if pick.ID() != id {
		t.Fatalf("Pick(%s) = %s", id, pick.ID())
	}
	return pick
}

// routerTestReport picks id and reports o on it.
func routerTestReport(t testing.TB, r *Router, p *Pool, id string, o Outcome) {
	t.Helper()
	r.Report(routerTestPickID(t, r, p, id), o, 0)
}

// routerTestPicks picks n times, reporting Success each time, and returns
// the ids picked ("!" for an error).
func routerTestPicks(r *Router, p *Pool, tried []*Deployment, n int) []string {
	var out []string
	for range n {
		pick, err := p.Pick(r.Now(), tried)
		if err != nil {
			out = append(out, "!")
			continue
		}
		out = append(out, pick.ID())
		r.Report(pick, Outcome{Verdict: Success}, time.Millisecond)
	}
	return out
}

// routerTestStatus returns the status of id.
func routerTestStatus(t testing.TB, r *Router, id string) Status {
	t.Helper()
	for _, s := range r.Status() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("Status: no deployment %q", id)
	return Status{}
}

func routerTestIDs(ds []*Deployment) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID())
	}
	return out
}

func TestRouterPool(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{},
		routerTestDeployment("a1", "gpt-4o", 1),
		routerTestDeployment("a2", "gpt-4o", 2),
		routerTestDeployment("m1", "gpt-4o-mini", 1),
		routerTestWithClass(routerTestDeployment("e1", "embed", 1), config.ClassEmbeddings),
		routerTestWithClass(routerTestDeployment("e2", "embed", 1), config.ClassEmbeddings),
		routerTestInactive(routerTestDeployment("o1", "old", 1)),
		routerTestInactive(routerTestDeployment("o2", "old", 1)),
		routerTestDeployment("x1", "mixed", 1),
		routerTestInactive(routerTestDeployment("x2", "mixed", 1)),
		routerTestDeployment("z1", "aaa-first", 3),
	)
	chatModels := []string{"aaa-first", "gpt-4o", "gpt-4o-mini", "mixed"}
	tests := []struct {
		name    string
		model   string
		class   string
		wantIDs []string
		wantErr error
	}{
		{name: "two tiers", model: "gpt-4o", class: config.ClassChat, wantIDs: []string{"a1", "a2"}},
		{name: "other class", model: "embed", class: config.ClassEmbeddings, wantIDs: []string{"e1", "e2"}},
		{name: "inactive excluded", model: "mixed", class: config.ClassChat, wantIDs: []string{"x1"}},
		{
			name: "unknown model", model: "gpt-5", class: config.ClassChat,
			wantErr: &UnknownModelError{Model: "gpt-5", Class: config.ClassChat, Available: chatModels},
		},
		{
			name: "class mismatch", model: "embed", class: config.ClassChat,
			wantErr: &UnknownModelError{Model: "embed", Class: config.ClassChat, Available: chatModels},
		},
		{
			name: "chat model asked for embeddings", model: "gpt-4o", class: config.ClassEmbeddings,
			wantErr: &UnknownModelError{Model: "gpt-4o", Class: config.ClassEmbeddings, Available: []string{"embed"}},
		},
		{
			name: "class nobody serves", model: "gpt-4o", class: config.ClassImages,
			wantErr: &UnknownModelError{Model: "gpt-4o", Class: config.ClassImages},
		},
		{name: "all inactive", model: "old", class: config.ClassChat, wantErr: &NoActiveError{Model: "old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := r.Pool(tt.model, tt.class)
			if tt.wantErr != nil {
				if p != nil {
					t.Errorf("Pool(%q, %q) = pool %v, want nil", tt.model, tt.class, routerTestIDs(p.Deployments()))
				}
				if diff := cmp.Diff(tt.wantErr, err, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Pool(%q, %q) error mismatch (-want +got):\n%s", tt.model, tt.class, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pool(%q, %q): %v", tt.model, tt.class, err)
			}
			if got, want := routerTestIDs(p.Deployments()), tt.wantIDs; !slices.Equal(got, want) {
				t.Errorf("Pool(%q, %q).Deployments() = %v, want %v", tt.model, tt.class, got, want)
			}
			if got, want := p.Model, tt.model; got != want {
				t.Errorf("Pool.Model = %q, want %q", got, want)
			}
			if got, want := p.Class, tt.class; got != want {
				t.Errorf("Pool.Class = %q, want %q", got, want)
			}
		})
	}

	t.Run("models", func(t *testing.T) {
		got, want := r.Models(), []string{"aaa-first", "embed", "gpt-4o", "gpt-4o-mini", "mixed"}
		if !slices.Equal(got, want) {
			t.Errorf("Models() = %v, want %v", got, want)
		}
	})
}

func TestRouterPoolErrorTypes(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{},
		routerTestDeployment("a", "gpt-4o", 1),
		routerTestInactive(routerTestDeployment("o", "old", 1)),
	)
	_, err := r.Pool("nope", config.ClassChat)
	var unknown *UnknownModelError
	if !errors.As(err, &unknown) {
		t.Fatalf("Pool(nope) error = %T %v, want *UnknownModelError", err, err)
	}
	if got, want := err.Error(), `model "nope" not found; available models for openai-chat: gpt-4o`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = r.Pool("old", config.ClassChat)
	var none *NoActiveError
	if !errors.As(err, &none) {
		t.Fatalf("Pool(old) error = %T %v, want *NoActiveError", err, err)
	}
}

func TestRouterNewRejects(t *testing.T) {
	bad := routerTestDeployment("bad", "m", 1)
	bad.Endpoint = "ftp://nowhere"
	tests := []struct {
		name string
		opts Options
		deps []config.Deployment
	}{
		{
			name: "duplicate id",
			deps: []config.Deployment{routerTestDeployment("a", "m", 1), routerTestDeployment("a", "n", 1)},
		},
		{name: "invalid endpoint", deps: []config.Deployment{bad}},
		{
			name: "unknown default strategy",
			opts: Options{Strategy: "fastest"},
			deps: []config.Deployment{routerTestDeployment("a", "m", 1)},
		},
		{
			name: "unknown model strategy",
			opts: Options{Models: map[string]config.Model{"m": {Strategy: "fastest"}}},
			deps: []config.Deployment{routerTestDeployment("a", "m", 1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Now = newRouterTestClock().Now
			r, err := New(opts, tt.deps)
			if err == nil {
				t.Errorf("New() = %v, nil; want an error", r)
			}
		})
	}
}

func TestRouterModelStrategy(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{
		Strategy: "random",
		Models:   map[string]config.Model{"slow": {Strategy: "least-inflight"}, "plain": {}},
	},
		routerTestDeployment("s1", "slow", 1),
		routerTestDeployment("s2", "slow", 2),
		routerTestDeployment("p1", "plain", 1),
		routerTestDeployment("o1", "other", 1),
	)
	tests := []struct {
		model string
		want  []string // selector type per tier
	}{
		{model: "slow", want: []string{"*router.LeastInFlight", "*router.LeastInFlight"}},
		{model: "plain", want: []string{"router.Random"}},
		{model: "other", want: []string{"router.Random"}},
	}
	for _, tt := range tests {
		p := routerTestPool(t, r, tt.model)
		var got []string
		for _, tier := range p.tiers {
			got = append(got, fmt.Sprintf("%T", tier.selector))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("model %q selectors = %v, want %v", tt.model, got, tt.want)
		}
	}
}

func TestRouterOptionsDefaults(t *testing.T) {
	r, err := New(Options{}, []config.Deployment{routerTestDeployment("a", "m", 1)})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{r.opts.Cooldown, r.opts.FailureThreshold, r.opts.CircuitOpen, r.opts.Now != nil}
	want := []any{config.DefaultCooldown, config.DefaultFailureThreshold, config.DefaultCircuitOpen, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

func TestRouterFallbacks(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{Models: map[string]config.Model{
		"big": {Fallbacks: []string{"mid", "small"}, ContextWindowFallback: "long"},
	}}, routerTestDeployment("a", "big", 1))
	if got, want := r.Fallbacks("big"), []string{"mid", "small"}; !slices.Equal(got, want) {
		t.Errorf("Fallbacks(big) = %v, want %v", got, want)
	}
	if got := r.Fallbacks("other"); len(got) != 0 {
		t.Errorf("Fallbacks(other) = %v, want none", got)
	}
	if got, want := r.ContextWindowFallback("big"), "long"; got != want {
		t.Errorf("ContextWindowFallback(big) = %q, want %q", got, want)
	}
	if got, want := r.ContextWindowFallback("other"), ""; got != want {
		t.Errorf("ContextWindowFallback(other) = %q, want %q", got, want)
	}
}

// routerTestStatusView is the part of Status a test pins down.
type routerTestStatusView struct {
	ID, State, Circuit, Reason string
	Until                      time.Time
	InFlight                   int64
	Latency                    time.Duration
	Requests, Failures         int64
}

func routerTestView(ss []Status) []routerTestStatusView {
	var out []routerTestStatusView
	for _, s := range ss {
		v := routerTestStatusView{
			ID: s.ID, State: s.State, Circuit: s.Circuit, Reason: s.CooldownReason,
			InFlight: s.InFlight, Latency: s.Latency, Requests: s.Requests, Failures: s.Failures,
		}
		if s.CooldownUntil != nil {
			v.Until = *s.CooldownUntil
		}
		out = append(out, v)
	}
	return out
}

func TestRouterUpdateKeepsState(t *testing.T) {
	clk := newRouterTestClock()
	opts := Options{FailureThreshold: 2, CircuitOpen: time.Minute}
	cooling := routerTestDeployment("cooling", "m", 1)
	broken := routerTestDeployment("broken", "m", 1)
	busy := routerTestDeployment("busy", "m", 1)
	gone := routerTestDeployment("gone", "m", 1)
	r := newRouterTest(t, clk, opts, cooling, broken, busy, gone)
	p := routerTestPool(t, r, "m")

	routerTestReport(t, r, p, "cooling", Outcome{Verdict: RateLimited, Cooldown: 20 * time.Second, Reason: "429 retry-after 20s"})
	routerTestReport(t, r, p, "broken", Outcome{Verdict: Transient, Reason: "upstream 502"})
	routerTestReport(t, r, p, "broken", Outcome{Verdict: Transient, Reason: "upstream 503"})
	r.Report(routerTestPickID(t, r, p, "busy"), Outcome{Verdict: Success}, 200*time.Millisecond)
	held := routerTestPickID(t, r, p, "busy")
	routerTestReport(t, r, p, "gone", Outcome{Verdict: Transient, Reason: "upstream 500"})

	// busy moves to another tier and changes weight: still the same id.
	busy.Priority, busy.Weight = 2, 5
	fresh := routerTestDeployment("fresh", "m", 1)
	clk.Advance(time.Second)
	if err := r.Update([]config.Deployment{cooling, broken, busy, fresh}); err != nil {
		t.Fatalf("Update: %v", err)
	}

	until := routerTestEpoch.Add(20 * time.Second)
	want := []routerTestStatusView{
		{ID: "cooling", State: "cooling", Circuit: "closed", Reason: "429 retry-after 20s", Until: until, Requests: 1},
		{ID: "broken", State: "circuit-open", Circuit: "open", Requests: 2, Failures: 2},
		{ID: "busy", State: "serving", Circuit: "closed", InFlight: 1, Latency: 200 * time.Millisecond, Requests: 2},
		{ID: "fresh", State: "serving", Circuit: "closed"},
	}
	if diff := cmp.Diff(want, routerTestView(r.Status())); diff != "" {
		t.Errorf("Status after Update mismatch (-want +got):\n%s", diff)
	}

	p2 := routerTestPool(t, r, "m")
	if got, want := routerTestIDs(p2.Deployments()), []string{"cooling", "broken", "fresh", "busy"}; !slices.Equal(got, want) {
		t.Errorf("Deployments() after Update = %v, want %v", got, want)
	}
	// Only fresh is available in tier 1; the state came along.
	if got, want := routerTestPicks(r, p2, nil, 3), []string{"fresh", "fresh", "fresh"}; !slices.Equal(got, want) {
		t.Errorf("picks after Update = %v, want %v", got, want)
	}

	// A pick taken on the old snapshot reports into the shared state.
	r.Report(held, Outcome{Verdict: Success}, 200*time.Millisecond)
	if got, want := routerTestStatus(t, r, "busy").InFlight, int64(0); got != want {
		t.Errorf("busy in flight after reporting the old pick = %d, want %d", got, want)
	}

	// A removed deployment that comes back starts fresh.
	if err := r.Update([]config.Deployment{cooling, broken, busy, fresh, gone}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantGone := routerTestStatusView{ID: "gone", State: "serving", Circuit: "closed"}
	if diff := cmp.Diff(wantGone, routerTestView([]Status{routerTestStatus(t, r, "gone")})[0]); diff != "" {
		t.Errorf("re-added deployment mismatch (-want +got):\n%s", diff)
	}
}

func TestRouterUpdateRemoves(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{},
		routerTestDeployment("a", "m", 1),
		routerTestDeployment("b", "m", 1),
		routerTestDeployment("c", "n", 1),
	)
	if err := r.Update([]config.Deployment{routerTestDeployment("b", "m", 1)}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	p := routerTestPool(t, r, "m")
	if got, want := routerTestIDs(p.Deployments()), []string{"b"}; !slices.Equal(got, want) {
		t.Errorf("Deployments() = %v, want %v", got, want)
	}
	if got, want := routerTestPicks(r, p, nil, 3), []string{"b", "b", "b"}; !slices.Equal(got, want) {
		t.Errorf("picks = %v, want %v", got, want)
	}
	var unknown *UnknownModelError
	if _, err := r.Pool("n", config.ClassChat); !errors.As(err, &unknown) {
		t.Errorf("Pool(n) after removal error = %v, want *UnknownModelError", err)
	}
	var ids []string
	for _, s := range r.Status() {
		ids = append(ids, s.ID)
	}
	if got, want := ids, []string{"b"}; !slices.Equal(got, want) {
		t.Errorf("Status ids = %v, want %v", got, want)
	}
	if got, want := r.Models(), []string{"m"}; !slices.Equal(got, want) {
		t.Errorf("Models() = %v, want %v", got, want)
	}
}

func TestRouterUpdateRejectsKeepsOld(t *testing.T) {
	bad := routerTestDeployment("bad", "m", 1)
	bad.Endpoint = "not a url"
	tests := []struct {
		name string
		deps []config.Deployment
	}{
		{name: "duplicate id", deps: []config.Deployment{
			routerTestDeployment("a", "m", 1), routerTestDeployment("new", "m", 1), routerTestDeployment("new", "n", 2),
		}},
		{name: "invalid deployment", deps: []config.Deployment{routerTestDeployment("new", "m", 1), bad}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newRouterTestClock()
			r := newRouterTest(t, clk, Options{}, routerTestDeployment("a", "m", 1), routerTestDeployment("b", "m", 2))
			p := routerTestPool(t, r, "m")
			routerTestReport(t, r, p, "a", Outcome{Verdict: RateLimited, Cooldown: 5 * time.Second, Reason: "429"})
			before := r.Status()

			if err := r.Update(tt.deps); err == nil {
				t.Fatalf("Update(%s) = nil, want an error", tt.name)
			}
			if diff := cmp.Diff(before, r.Status()); diff != "" {
				t.Errorf("Status changed by a rejected Update (-want +got):\n%s", diff)
			}
			if got, want := routerTestIDs(routerTestPool(t, r, "m").Deployments()), []string{"a", "b"}; !slices.Equal(got, want) {
				t.Errorf("Deployments() = %v, want %v", got, want)
			}
			if _, err := r.Pool("n", config.ClassChat); err == nil {
				t.Errorf("Pool(n) = nil error; the rejected table leaked in")
			}
		})
	}
}

func TestRouterStatus(t *testing.T) {
	clk := newRouterTestClock()
	r := newRouterTest(t, clk, Options{FailureThreshold: 1, CircuitOpen: time.Minute, Cooldown: 10 * time.Second},
		routerTestDeployment("serving", "m", 1),
		routerTestDeployment("cooling", "m", 1),
		routerTestDeployment("open", "m", 1),
		routerTestDeployment("half", "m", 1),
		routerTestDeployment("both", "m", 1),
		routerTestInactive(routerTestDeployment("off", "m", 1)),
	)
	p := routerTestPool(t, r, "m")
	routerTestReport(t, r, p, "half", Outcome{Verdict: Transient, Reason: "upstream 500"})
	clk.Advance(time.Minute) // half's circuit is now half-open
	t1 := clk.Now()
	routerTestReport(t, r, p, "cooling", Outcome{Verdict: QuotaExhausted, Cooldown: time.Hour, Reason: "429 insufficient_quota"})
	routerTestReport(t, r, p, "open", Outcome{Verdict: Transient, Reason: "connection refused"})
	// AuthFailed both cools (default cooldown) and opens the circuit: cooling wins.
	routerTestReport(t, r, p, "both", Outcome{Verdict: AuthFailed, Reason: "upstream 401: invalid key"})

	want := []routerTestStatusView{
		{ID: "serving", State: "serving", Circuit: "closed"},
		{ID: "cooling", State: "cooling", Circuit: "closed", Reason: "429 insufficient_quota", Until: t1.Add(time.Hour), Requests: 1},
		{ID: "open", State: "circuit-open", Circuit: "open", Requests: 1, Failures: 1},
		{ID: "half", State: "half-open", Circuit: "half-open", Requests: 1, Failures: 1},
		{ID: "both", State: "cooling", Circuit: "open", Reason: "upstream 401: invalid key", Until: t1.Add(10 * time.Second), Requests: 1, Failures: 1},
		{ID: "off", State: "inactive", Circuit: "closed"},
	}
	if diff := cmp.Diff(want, routerTestView(r.Status())); diff != "" {
		t.Errorf("Status mismatch (-want +got):\n%s", diff)
	}
	if got, want := routerTestStatus(t, r, "open").LastError, "connection refused"; got != want {
		t.Errorf("open LastError = %q, want %q", got, want)
	}
	if got, want := routerTestStatus(t, r, "off").Active, false; got != want {
		t.Errorf("off Active = %v, want %v", got, want)
	}

	t.Run("json", func(t *testing.T) {
		b, err := json.Marshal(routerTestStatus(t, r, "cooling"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got := []any{m["state"], m["cooldown_reason"]}
		want := []any{"cooling", "429 insufficient_quota"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("JSON fields mismatch (-want +got):\n%s\n%s", diff, b)
		}
		raw, _ := m["cooldown_until"].(string)
		until, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil || !until.Equal(t1.Add(time.Hour)) {
			t.Errorf("JSON cooldown_until = %q (%v), want %s", raw, err, t1.Add(time.Hour).Format(time.RFC3339Nano))
		}
		b, err = json.Marshal(routerTestStatus(t, r, "serving"))
		if err != nil {
			t.Fatal(err)
		}
		m = nil
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"cooldown_until", "cooldown_reason", "last_error"} {
			if v, ok := m[k]; ok {
				t.Errorf("serving JSON has %s = %v, want it omitted", k, v)
			}
		}
	})

	t.Run("after the cooldown", func(t *testing.T) {
		clk.Advance(time.Hour)
		want := map[string]string{"serving": "serving", "cooling": "serving", "open": "half-open", "half": "half-open", "both": "half-open", "off": "inactive"}
		got := map[string]string{}
		for _, s := range r.Status() {
			got[s.ID] = s.State
			if s.CooldownUntil != nil || s.CooldownReason != "" {
				t.Errorf("%s CooldownUntil, CooldownReason = %v, %q after the cooldown; want nil, empty", s.ID, s.CooldownUntil, s.CooldownReason)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("states mismatch (-want +got):\n%s", diff)
		}
	})
}

// A 429 cools the deployment down, the next attempt spills to the next
// tier, and when everything is cooling the caller learns when to come back.
func ExampleRouter_Report() {
	now := time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)
	dep := func(id string, priority int) config.Deployment {
		return config.Deployment{
			ID: id, Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure,
			Endpoint: "http://127.0.0.1:1", Deployment: "gpt-4o", APIVersion: "2024-10-21", Priority: priority,
		}
	}
	r, err := New(Options{Now: func() time.Time { return now }}, []config.Deployment{dep("eastus", 1), dep("westus", 2)})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := r.Pool("gpt-4o", config.ClassChat)

	pick, _ := p.Pick(r.Now(), nil)
	fmt.Println("first:", pick.ID())
	r.Report(pick, Outcome{Verdict: RateLimited, Cooldown: 6 * time.Second, Reason: "429 retry-after 6s"}, 0)

	pick, _ = p.Pick(r.Now(), []*Deployment{pick.Deployment})
	fmt.Println("next:", pick.ID())
	r.Report(pick, Outcome{Verdict: RateLimited, Cooldown: 20 * time.Second, Reason: "429 retry-after 20s"}, 0)

	_, err = p.Pick(r.Now(), nil)
	var ue *UnavailableError
	if errors.As(err, &ue) {
		fmt.Println("retry in:", ue.RetryAt.Sub(r.Now()))
	}
	// Output:
	// first: eastus
	// next: westus
	// retry in: 6s
}
