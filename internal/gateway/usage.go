package gateway

import (
	"context"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/usage"
)

// Recorder receives the usage record of every request once its response
// is over. It must not block: the usage writer queues, metrics count.
type Recorder interface {
	Record(usage.Record)
}

// includeUsage is the stream_options the gateway adds to a streaming
// request so the upstream reports the stream's token usage.
var includeUsage = []byte(`{"include_usage":true}`)

// prepareStreamUsage builds the body variant that asks for stream usage,
// when the request streams and did not set stream_options itself.
func prepareStreamUsage(req *exchange) {
	p := req.peek
	if !p.Stream || p.HasStreamOptions {
		return
	}
	if !req.spec.StreamUsage {
		return
	}
	req.usageBody, _ = insertFirst(req.body, "stream_options", includeUsage)
}

// usagePeek is the peek of usageBody: the fields inserted first moved
// every span by their length.
func (req *exchange) usagePeek() peeked {
	return req.peek.moved(0, len(req.usageBody)-len(req.body))
}

// record builds the request's usage record and hands it to the recorder.
func (g *Gateway) record(req *exchange, res result, status int) {
	if g.recorder == nil && req.span == nil && !req.admitted && !res.pick.ChargedTokens() {
		return
	}
	rec := usage.Record{
		Time:       req.start.UTC(),
		RequestID:  req.id,
		Model:      req.model,
		Deployment: res.deployment,
		Endpoint:   req.op.String(),
		Status:     status,
		Attempts:   res.attempts,
		Stream:     req.peek.Stream,
		Latency:    time.Since(req.start),
		TTFB:       res.ttfb,
		User:       req.peek.User,
	}
	stampPrincipal(&rec, req.principal)
	if m := res.meter; m != nil {
		switch {
		case m.found && g.charges(req, res, m):
			rec.PromptTokens, rec.CompletionTokens, rec.TotalTokens = m.usage.Prompt, m.usage.Completion, m.usage.Total
			rec.CachedTokens, rec.ReasoningTokens, rec.AudioSeconds = m.usage.Cached, m.usage.Reasoning, m.usage.Seconds
		case res.status >= 200 && res.status < 300 && req.op.Metered() && !m.object.pending():
			// The upstream reported nothing: count what went through.
			rec.Estimated = true
			rec.PromptTokens = usage.EstimatePromptTokens(res.priceModel, req.body)
			rec.CompletionTokens = m.completionTokens(res.priceModel)
			rec.TotalTokens = rec.PromptTokens + rec.CompletionTokens
		}
	}
	if price, ok := g.price(res.priceModel); ok {
		rec.Cost = price.Cost(rec.PromptTokens, rec.CachedTokens, rec.CompletionTokens) + rec.AudioSeconds*price.CostPerSecond
	}
	if g.logsPayloads(req) {
		rec.Prompt = capString(req.body)
		if m := res.meter; m != nil {
			if m.stream {
				rec.Response = capString(m.text)
			} else {
				rec.Response = capString(m.body)
			}
		}
	}
	g.settle(req, res, &rec)
	req.span.EndRequest(rec)
	if g.recorder != nil {
		g.recorder.Record(rec)
	}
}

// backgroundClaimTTL is how long the gateway remembers that a background
// response's usage was recorded; polls of a finished response come within
// minutes or hours of each other, not weeks.
const backgroundClaimTTL = 7 * 24 * time.Hour

// charges reports whether an answer's usage is charged. A metered
// operation's is, but a background response's usage shows in its create
// answer (when it finished at once, or streamed) and in every poll that
// reads it finished: it is charged by the first of those, on any replica
// sharing the claims limiter, and by none of the others. A claim that
// cannot be checked charges: counting twice is better than never.
func (g *Gateway) charges(req *exchange, res result, m *meter) bool {
	background := m.object.Background || (req.spec.Creates && req.peek.Background)
	if !background {
		return req.op.Metered()
	}
	deployment, upstream := req.object.deployment, req.object.upstream
	if req.spec.Creates && m.ids != nil {
		deployment, upstream = res.deployment, m.ids.made
	}
	if upstream == "" || m.object.pending() {
		return false
	}
	d, err := g.claims.Take(context.Background(), "response-usage:"+deployment+":"+upstream, 1, backgroundClaimTTL, 1)
	return err != nil || d.Allowed
}

// logsPayloads reports whether the request's prompt and answer are stored.
func (g *Gateway) logsPayloads(req *exchange) bool {
	return g.payloads || (req.principal != nil && req.principal.LogPayloads)
}

func capString(b []byte) string {
	return string(b[:min(len(b), usage.MaxPayloadBytes)])
}

// priceModel names the model whose price applies to an answer: the
// deployment's model_info.base_model, else its upstream name, which for
// Azure is often the real model's (gpt-4o, gpt-35-turbo).
func (g *Gateway) priceModel(d *router.Deployment, public string) string {
	if b, ok := d.Config.ModelInfo["base_model"].(string); ok && b != "" {
		return b
	}
	if _, ok := g.price(d.Config.Deployment); ok {
		return d.Config.Deployment
	}
	return public
}

// priceEntry is a cached price table answer.
type priceEntry struct {
	price usage.Price
	ok    bool
}

// price looks a model up in the price table once and remembers the answer:
// the lookup normalises names and allocates, and the names asked about come
// from configured deployments, so the cache stays small.
func (g *Gateway) price(model string) (usage.Price, bool) {
	if e, ok := g.prices.Load(model); ok {
		e := e.(priceEntry)
		return e.price, e.ok
	}
	p, ok := usage.Lookup(model)
	g.prices.Store(model, priceEntry{p, ok})
	return p, ok
}

// stampPrincipal writes who made a request into its usage record: the key,
// its event and attendee, its team.
func stampPrincipal(rec *usage.Record, p *auth.Principal) {
	if p == nil {
		return
	}
	rec.KeyID = p.KeyID
	if p.Event != nil {
		rec.EventID, rec.Attendee = p.Event.ID, p.Attendee
	}
	if p.Team != nil {
		rec.TeamID = p.Team.ID
	}
}
