package router

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/provider"
)

// ProbeTimeout bounds one probe request.
const ProbeTimeout = 10 * time.Second

// Probe asks d for the smallest answer its class allows: one token of chat
// or completion, the embedding of one word. It returns the classified
// outcome, and false when the class is not probed (an image, a
// transcription or a moderation costs more, or needs a file). A probe
// changes no routing state by itself.
func Probe(ctx context.Context, rt http.RoundTripper, d *Deployment, now time.Time) (Outcome, bool) {
	model := d.Target.Model
	if model == "" {
		model = d.Config.Deployment
	}
	var op provider.Operation
	body := map[string]any{"model": model}
	switch d.Config.Class {
	case config.ClassChat:
		op = provider.Chat
		body["messages"] = []map[string]string{{"role": "user", "content": "ping"}}
		body["max_tokens"] = 1
	case config.ClassCompletions:
		op = provider.Completions
		body["prompt"] = "ping"
		body["max_tokens"] = 1
	case config.ClassEmbeddings:
		op = provider.Embeddings
		body["input"] = "ping"
	default:
		return Outcome{}, false
	}
	u := d.Target.URL(op)
	if u == nil {
		return Outcome{}, false
	}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(b))
	if err != nil {
		return Outcome{Verdict: Transient, Reason: "cannot build the probe request"}, true
	}
	req.Header.Set("Content-Type", "application/json")
	if err := d.Target.Authorize(ctx, req.Header); err != nil {
		return ClassifyPrepareError(context.Background(), err), true
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return ClassifyError(context.Background(), err), true
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return Outcome{Verdict: Success}, true
	}
	return ClassifyResponse(resp.StatusCode, resp.Header, head, now), true
}

// Prober brings deployments back without waiting for a client: once an
// open circuit's period is over, it sends the probe a client request would
// otherwise be, and closes the circuit on success or opens it again. Only
// chat, completions and embeddings deployments are probed, never those
// whose config says probe: false, and probes are not usage.
//
// Replicas that share the router's limiter (Redis) share the probing: in
// each probe window one replica wins the right to probe a deployment, and
// its success is left in the limiter for probeMemory, where the others
// find it and close their circuits without sending probes of their own.
type Prober struct {
	r   *Router
	rt  http.RoundTripper
	log *slog.Logger
}

const (
	// probeWindow is how long a won right to probe a deployment lasts.
	probeWindow = 5 * time.Second
	// probeMemory is how long a probe's success closes other replicas'
	// circuits: long enough for every replica's next round to see it.
	probeMemory = time.Minute
)

// NewProber returns a prober that sends its requests through rt.
func (r *Router) NewProber(rt http.RoundTripper, log *slog.Logger) *Prober {
	if log == nil {
		log = slog.Default()
	}
	return &Prober{r: r, rt: rt, log: log}
}

// Run probes every interval until ctx is done.
func (p *Prober) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Round(ctx)
		}
	}
}

// Round probes, one after the other, the deployments whose circuit is
// half-open and whose probe no request holds. It returns how many it
// probed.
func (p *Prober) Round(ctx context.Context) int {
	n := 0
	for _, d := range p.r.table.Load().order {
		if !d.Config.IsActive() || !d.Config.Probed() || ctx.Err() != nil {
			continue
		}
		now := p.r.Now()
		ok, probe := d.circuit.claim(now)
		if !ok || !probe {
			continue // closed (traffic flows), still open, or a request probes
		}
		switch p.shared(ctx, d) {
		case probedElsewhere:
			d.circuit.success()
			p.log.Info("deployment back after another replica's probe", "deployment", d.Config.ID)
			continue
		case probingElsewhere:
			d.circuit.release(true)
			continue
		}
		o, probed := Probe(ctx, p.rt, d, now)
		switch {
		case !probed:
			d.circuit.release(true)
			continue
		case o.Verdict == Success || o.Verdict == CallerError || o.Verdict == ContextTooLong:
			d.circuit.success()
			p.recordSuccess(ctx, d)
			p.log.Info("deployment back after a probe", "deployment", d.Config.ID)
		case o.Verdict == Transient || o.Verdict == AuthFailed:
			p.r.fail(d, p.r.Now(), o)
		default:
			// A throttle or a cooldown is not an outage: let traffic find out.
			d.circuit.release(true)
			if o.Verdict == RateLimited || o.Verdict == QuotaExhausted || o.Verdict == DeploymentGone {
				p.r.coolDown(d, p.r.Now(), o)
			}
		}
		n++
	}
	return n
}

// sharing is what the other replicas did about a deployment's probe.
type sharing uint8

const (
	probeHere        sharing = iota // this replica probes
	probedElsewhere                 // another replica's probe succeeded lately
	probingElsewhere                // another replica holds this window's probe
)

// shared asks the limiter, when the router has one, whether another
// replica already probed d successfully, or holds the right to probe it
// now. Without a limiter, or when it fails, this replica probes.
func (p *Prober) shared(ctx context.Context, d *Deployment) sharing {
	lim := p.r.opts.Limiter
	if lim == nil {
		return probeHere
	}
	if seen, err := lim.Take(ctx, "probe:ok:"+d.Config.ID, 1<<40, probeMemory, 0); err == nil && seen.Remaining < 1<<40 {
		return probedElsewhere
	}
	if won, err := lim.Take(ctx, "probe:turn:"+d.Config.ID, 1, probeWindow, 1); err == nil && !won.Allowed {
		return probingElsewhere
	}
	return probeHere
}

// recordSuccess leaves a probe's success where the other replicas look.
func (p *Prober) recordSuccess(ctx context.Context, d *Deployment) {
	if lim := p.r.opts.Limiter; lim != nil {
		_ = lim.Adjust(ctx, "probe:ok:"+d.Config.ID, probeMemory, 1)
	}
}
