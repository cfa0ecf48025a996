package gateway

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/usage"
)

// admit asks the access checker whether the caller may send this request
// now, and applies what it grants: a max_tokens cap is written into the
// body before anything else reads it. With deferCount, the caller's
// counted limits are left to the plan's first pick, which takes them with
// the deployment's in one limiter call (forward, counted).
func (g *Gateway) admit(r *http.Request, req *exchange, deferCount bool) error {
	if g.access == nil {
		return nil
	}
	ar := access.Request{
		Model:        req.model,
		MaxTokens:    req.peek.MaxTokens,
		HasMaxTokens: takesMaxTokens(req.op),
		CapField:     req.spec.Cap,
		PromptTokens: req,
	}
	if deferCount {
		req.pending = pendingPool.Get().(*access.Pending)
		ar.Pending = req.pending
	}
	grant, err := g.access.Admit(r.Context(), req.principal, ar)
	if req.pending != nil && !req.pending.Deferred() {
		// Nothing left to take with the pick.
		releasePending(req)
	}
	if grant.Limits.Any() {
		// On the answer and on a refusal alike; answerHeader keeps them
		// over the upstream's.
		grant.Limits.WriteHeaders(req.w.Header())
	}
	if err != nil {
		return err
	}
	req.grant = grant
	req.admitted = true
	if grant.MaxTokens > 0 {
		// The splice moves the peeked spans, so the body is not scanned
		// again, and leaves the prompt, so its estimate stands.
		req.body, req.peek = withMaxTokens(req.body, req.peek, grant.MaxTokens)
	}
	return nil
}

// carry hands the caller's deferred limits to the plan, to be taken with
// its first pick.
func (g *Gateway) carry(req *exchange) {
	if req.pending == nil || !req.pending.Deferred() {
		return
	}
	req.rider = router.Rider{Limiter: req.pending.Limiter(), Limits: req.pending.Limits(), Out: req.pending.Decisions()}
	req.plan.Carry(&req.rider)
}

// counted finishes a deferred admission once the plan has taken the
// caller's limits with a pick, refused them, or picked nothing (then they
// are taken alone, so a caller at its limit hears so). It writes the
// x-ratelimit-* headers, and returns the caller's refusal.
func (g *Gateway) counted(req *exchange) error {
	if req.pending == nil || !req.pending.Deferred() {
		return nil
	}
	alone := req.rider.Pending()
	if alone {
		req.rider.TakeAlone(req.r.Context())
	}
	grant, err := g.access.Counted(req.pending, req.grant, req.rider.Err)
	if !alone || err != nil {
		// A pick took them: the request is sent, and nothing will be
		// given back from the lists. Taken alone (nothing could be
		// picked), the grant's record of what was taken is these lists,
		// which done's Release reads: they go back to the pool after it.
		releasePending(req)
	}
	if grant.Limits.Any() {
		grant.Limits.WriteHeaders(req.w.Header())
	}
	req.grant = grant
	if err != nil {
		req.admitted = false
	}
	return err
}

// pendingPool holds the lists of a deferred admission (640 bytes), needed
// only until the first pick has taken them: kept in the exchange, they were
// held for the whole life of a stream, and put it in a larger size class.
var pendingPool = sync.Pool{New: func() any { return new(access.Pending) }}

// releasePending gives the deferred admission's lists back once counted:
// the plan reads its rider's limits only while they are pending.
func releasePending(req *exchange) {
	*req.pending = access.Pending{}
	pendingPool.Put(req.pending)
	req.pending = nil
	req.rider.Limits, req.rider.Out = nil, nil
}

// settle tells the access checker and the router what a request used, so
// the key's and the deployment's tpm counts are corrected and budgets
// charged.
func (g *Gateway) settle(req *exchange, res result, rec *usage.Record) {
	used := int64(rec.TotalTokens)
	if g.access == nil || !req.admitted {
		g.router.SettleTokens(res.pick, used)
		return
	}
	// Settle's limiter calls run whatever the client's context's state
	// (access.Checker.adjust): a context of their own here allocated one
	// on every request, with nothing to settle on a key without limits.
	ctx := req.r.Context()
	if a, ok := g.router.TokenCorrection(res.pick, used); ok {
		if g.access.Limiter() == g.router.Limiter() {
			// The deployment's correction and the caller's in one call.
			g.access.Settle(ctx, req.grant, used, rec.Cost, a)
			return
		}
		g.router.SettleTokens(res.pick, used)
	}
	g.access.Settle(ctx, req.grant, used, rec.Cost)
}

// finish ends the request's admission: its parallel slot, if it holds
// one, is given back.
func (g *Gateway) finish(req *exchange) {
	if g.access != nil {
		g.access.Finish(req.r.Context(), req.grant)
	}
}

// takesMaxTokens reports whether op's requests carry a max-tokens field
// (max_tokens, or the Responses API's max_output_tokens), so a cap applies
// to them.
func takesMaxTokens(op provider.Operation) bool { return op.Spec().Cap != "" }

// PromptTokens estimates the request's prompt tokens for admission, once;
// tpm limits (the key's and the deployments') need it. The exchange is
// the access.PromptEstimator of its admission. It is the cheap
// bounded estimate (usage.AdmissionTokens), not the tokenizer: the counts
// are corrected by the upstream's reported usage when the answer is in,
// and no number a user reads comes from it.
func (req *exchange) PromptTokens() int64 {
	if req.prompt == 0 {
		req.prompt = int64(max(1, usage.AdmissionTokens(req.body)))
	}
	return req.prompt
}

// demand is what a request is expected to take from a tpm limit: its prompt
// and the most it may generate.
func (req *exchange) demand() int64 {
	return req.PromptTokens() + max(0, req.peek.MaxTokens)
}

// withMaxTokens returns body with max_tokens (or max_completion_tokens,
// whichever it has) set to n, and the peek of the result; when it has
// neither, max_tokens is added. The body is not modified.
func withMaxTokens(body []byte, p peeked, n int64) ([]byte, peeked) {
	v := strconv.AppendInt(nil, n, 10)
	p.MaxTokens = n
	if p.maxStart >= 0 {
		out := splice(body, p.maxStart, p.maxEnd, v)
		p = p.moved(p.maxEnd, len(out)-len(body))
		p.maxEnd = p.maxStart + len(v)
		return out, p
	}
	field := "max_tokens"
	if p.output {
		field = "max_output_tokens"
	}
	out, at := insertFirst(body, field, v)
	p = p.moved(0, len(out)-len(body))
	p.maxField, p.maxStart, p.maxEnd = field, at, at+len(v)
	return out, p
}
