// Package router decides where a request goes: the pool of deployments of a
// model, priority tiers that spill over, the selector within a tier,
// cooldowns, the circuit breaker and the failure classifier. The routing
// table is an immutable snapshot swapped atomically, so reads take no lock;
// live per-deployment state is atomics that survive swaps.
//
// What happens on a 429 (or any upstream answer) is decided in two places
// only: classify.go says what the answer means, report.go applies it.
package router

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/provider"
)

// Options tune the router. Zero values take the config package's defaults.
type Options struct {
	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time
	// Cooldown applies when a 429 carries no reset information.
	Cooldown time.Duration
	// FailureThreshold consecutive failures open a deployment's circuit.
	FailureThreshold int
	// CircuitOpen is how long an open circuit rejects traffic.
	CircuitOpen time.Duration
	// SlowThreshold and SlowFactor say when an attempt the client gave up
	// on counts against the deployment: it waited for the upstream's
	// headers longer than max(SlowThreshold, SlowFactor × the
	// deployment's recent time to first byte). Defaults 3s and 4.
	SlowThreshold time.Duration
	SlowFactor    float64
	// Strategy is the default selector for every model.
	Strategy string
	// Models holds per-model strategy and fallbacks.
	Models map[string]config.Model
	// OnCooldown, when set, is called each time a deployment's cooldown is
	// set or extended (metrics, sharing with other replicas). It must not
	// block.
	OnCooldown func(deployment string, until time.Time, o Outcome)
	// Limiter counts deployments' rpm and tpm (limits.go); nil leaves them
	// to the upstream's own 429s.
	Limiter limits.Limiter
	// Tokens supplies the Entra ID tokens of deployments with auth: entra;
	// without it such deployments are refused.
	Tokens TokenSources
}

// TokenSources gives a deployment with auth: entra its token source.
type TokenSources interface {
	Source(d config.Deployment) provider.TokenSource
}

// Router holds the live routing table.
type Router struct {
	opts  Options
	table atomic.Pointer[table]
	// mu serialises Update so two swaps cannot lose state.
	mu sync.Mutex
	// adjustFailures counts tpm corrections the limiter refused.
	adjustFailures atomic.Int64
}

type poolKey struct{ model, class string }

// table is an immutable routing snapshot.
type table struct {
	pools map[poolKey]*Pool
	known map[poolKey]bool // (model, class) -> has an active deployment
	byID  map[string]*Deployment
	order []*Deployment // config order, for status pages
}

// New returns a router with the given deployments.
func New(opts Options, deployments []config.Deployment) (*Router, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Cooldown <= 0 {
		opts.Cooldown = config.DefaultCooldown
	}
	if opts.FailureThreshold <= 0 {
		opts.FailureThreshold = config.DefaultFailureThreshold
	}
	if opts.SlowThreshold <= 0 {
		opts.SlowThreshold = config.DefaultSlowThreshold
	}
	if opts.SlowFactor <= 0 {
		opts.SlowFactor = config.DefaultSlowFactor
	}
	if opts.CircuitOpen <= 0 {
		opts.CircuitOpen = config.DefaultCircuitOpen
	}
	r := &Router{opts: opts}
	r.table.Store(&table{})
	if err := r.Update(deployments); err != nil {
		return nil, err
	}
	return r, nil
}

// Now returns the router's clock reading.
func (r *Router) Now() time.Time { return r.opts.Now() }

// Update swaps in a new set of deployments. A deployment that keeps its id
// keeps its live state (cooldown, circuit, in-flight, latency); requests in
// flight finish on the snapshot they started with.
func (r *Router) Update(deployments []config.Deployment) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.table.Load()
	t := &table{
		pools: make(map[poolKey]*Pool),
		known: make(map[poolKey]bool),
		byID:  make(map[string]*Deployment, len(deployments)),
	}
	for _, c := range deployments {
		if _, dup := t.byID[c.ID]; dup {
			return fmt.Errorf("duplicate deployment id %q", c.ID)
		}
		target, err := provider.NewTarget(c)
		if err != nil {
			return fmt.Errorf("deployment %q: %w", c.ID, err)
		}
		if c.UsesEntra() {
			if r.opts.Tokens == nil {
				return fmt.Errorf("deployment %q: auth: entra, but this router has no token sources", c.ID)
			}
			target = target.WithTokens(r.opts.Tokens.Source(c))
		}
		d := &Deployment{Config: c, Target: target, rpmKey: "deployment:rpm:" + c.ID, tpmKey: "deployment:tpm:" + c.ID, idHeader: []string{c.ID}}
		if prev, ok := old.byID[c.ID]; ok {
			d.state = prev.state
		} else {
			d.state = &state{}
		}
		t.byID[c.ID] = d
		t.order = append(t.order, d)
		k := poolKey{c.Model, c.Class}
		t.known[k] = t.known[k] || c.IsActive()
		if !c.IsActive() {
			continue
		}
		p := t.pools[k]
		if p == nil {
			p = &Pool{Model: c.Model, Class: c.Class, limiter: r.opts.Limiter}
			t.pools[k] = p
		}
		if err := r.addToTier(p, d); err != nil {
			return err
		}
	}
	r.table.Store(t)
	return nil
}

func (r *Router) addToTier(p *Pool, d *Deployment) error {
	prio := d.Config.Priority
	i, found := slices.BinarySearchFunc(p.tiers, prio, func(t tier, prio int) int { return cmp.Compare(t.priority, prio) })
	if !found {
		strategy := r.opts.Strategy
		if m, ok := r.opts.Models[p.Model]; ok && m.Strategy != "" {
			strategy = m.Strategy
		}
		sel, err := NewSelector(strategy)
		if err != nil {
			return fmt.Errorf("model %q: %w", p.Model, err)
		}
		p.tiers = slices.Insert(p.tiers, i, tier{priority: prio, selector: sel})
	}
	p.tiers[i].deployments = append(p.tiers[i].deployments, d)
	p.countsTokens = p.countsTokens || (p.limiter != nil && d.Config.TPM > 0)
	return nil
}

// Pool returns the pool serving model for class. It fails with
// *UnknownModelError when nothing serves that pair, and *NoActiveError when
// deployments of the pair exist but every one is inactive.
func (r *Router) Pool(model, class string) (*Pool, error) {
	t := r.table.Load()
	if p, ok := t.pools[poolKey{model, class}]; ok {
		return p, nil
	}
	if active, ok := t.known[poolKey{model, class}]; ok && !active {
		return nil, &NoActiveError{Model: model}
	}
	return nil, &UnknownModelError{Model: model, Class: class, Available: t.modelsFor(class)}
}

func (t *table) modelsFor(class string) []string {
	var out []string
	for k := range t.pools {
		if class == "" || k.class == class {
			out = append(out, k.model)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Models lists the public models with an active deployment, sorted.
func (r *Router) Models() []string { return r.table.Load().modelsFor("") }

// Fallbacks returns the models tried after every deployment of model.
func (r *Router) Fallbacks(model string) []string { return r.opts.Models[model].Fallbacks }

// ContextWindowFallback returns the model tried when model's context is too
// short for a request, or "".
func (r *Router) ContextWindowFallback(model string) string {
	return r.opts.Models[model].ContextWindowFallback
}

// Status is a deployment's live routing state, for /admin/v1/routing.
type Status struct {
	ID             string     `json:"id"`
	Model          string     `json:"model"`
	Class          string     `json:"class"`
	Priority       int        `json:"priority"`
	Active         bool       `json:"active"`
	State          string     `json:"state"`                // serving, cooling, full, circuit-open, half-open, inactive
	FullUntil      *time.Time `json:"full_until,omitempty"` // when a full rpm/tpm window frees up
	CooldownUntil  *time.Time `json:"cooldown_until,omitempty"`
	CooldownReason string     `json:"cooldown_reason,omitempty"`
	// ProbeAt is when an open circuit's period ends and the background
	// prober (or the next request) tries the deployment again.
	ProbeAt  *time.Time    `json:"probe_at,omitempty"`
	Circuit  string        `json:"circuit"`
	InFlight int64         `json:"in_flight"`
	Latency  time.Duration `json:"latency_ewma_ns"`
	// SlowThreshold is how long it may keep a request waiting for headers
	// before an abandoned attempt counts as its failure.
	SlowThreshold time.Duration `json:"slow_threshold_ns"`
	Requests      int64         `json:"requests"`
	Failures      int64         `json:"failures"`
	LastError     string        `json:"last_error,omitempty"`
}

// Status returns every deployment's live state in config order.
func (r *Router) Status() []Status {
	now := r.opts.Now()
	t := r.table.Load()
	out := make([]Status, 0, len(t.order))
	for _, d := range t.order {
		s := Status{
			ID: d.Config.ID, Model: d.Config.Model, Class: d.Config.Class,
			Priority: d.Config.Priority, Active: d.Config.IsActive(),
			Circuit: d.circuit.state(now), InFlight: d.InFlight(), Latency: d.Latency(), SlowThreshold: r.SlowThreshold(d),
			Requests: d.requests.Load(), Failures: d.failures.Load(),
		}
		if p := d.lastErr.Load(); p != nil {
			s.LastError = *p
		}
		until, cooling := d.coolingUntil(now)
		full, isFull := d.fullUntil(now)
		switch {
		case !s.Active:
			s.State = "inactive"
		case cooling:
			s.State = "cooling"
		case isFull:
			s.State = "full"
			s.FullUntil = &full
		case s.Circuit == "open":
			s.State = "circuit-open"
		case s.Circuit == "half-open":
			s.State = "half-open"
		default:
			s.State = "serving"
		}
		if cooling {
			s.CooldownUntil = &until
			s.CooldownReason = d.cooldown.Load().reason
		}
		if ok, open := d.circuit.allows(now); !ok && !open.IsZero() {
			s.ProbeAt = &open
		}
		out = append(out, s)
	}
	return out
}

// Deployment returns the live deployment with id, for status probes.
func (r *Router) Deployment(id string) (*Deployment, bool) {
	d, ok := r.table.Load().byID[id]
	return d, ok
}
