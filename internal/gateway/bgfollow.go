package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// A background response (background: true) answers "queued" and is
// charged by the first poll that sees it finished. A client that never
// polls again would never be charged: so the gateway registers every
// background response it hands out, and the batch follower polls them
// too, charging a finished one under the same claim the polls use
// (response-usage:…), so whichever comes first charges it, once.

// followBackground registers a background response that was still
// being made when its create answer went out.
func (g *Gateway) followBackground(req *exchange, res result) {
	m := res.meter
	if g.objects == nil || req.op != provider.Responses || m == nil || m.ids == nil || m.ids.made == "" {
		return
	}
	if !(m.object.Background || req.peek.Background) || !m.object.pending() {
		return
	}
	owner := ownerOf(req.principal)
	o := store.Object{ID: g.encodeObject(res.deployment, owner, m.ids.made), Kind: store.KindResponse,
		Deployment: res.deployment, UpstreamID: m.ids.made, Status: m.object.Status, CreatedAt: req.start}
	stampOwner(&o, req.principal)
	if err := g.objects.PutObject(context.WithoutCancel(req.r.Context()), o); err != nil {
		g.log.Error("object registry: background response", "request_id", req.id, "err", err)
	}
}

// responseState is what the follower reads of a response.
type responseState struct {
	Status string `json:"status"`
	Usage  struct {
		InputTokens        int `json:"input_tokens"`
		OutputTokens       int `json:"output_tokens"`
		TotalTokens        int `json:"total_tokens"`
		InputTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	} `json:"usage"`
}

// followResponse polls one background response and charges it once it is
// done, unless a poll did first.
func (f *BatchFollower) followResponse(ctx context.Context, o store.Object) (bool, error) {
	g := f.g
	d, ok := g.router.Deployment(o.Deployment)
	if !ok {
		o.Status, o.Done = "deployment_gone", true
		return false, g.objects.PutObject(ctx, o)
	}
	body, err := f.get(ctx, d, d.Target.ObjectURL(provider.ResponseGet, o.UpstreamID))
	var status *upstreamStatusError
	if errors.As(err, &status) && status.status == http.StatusNotFound {
		// Deleted before it was charged: nothing more can be read.
		o.Status, o.Done = "not_found_upstream", true
		return false, g.objects.PutObject(ctx, o)
	}
	if err != nil {
		return false, err
	}
	var st responseState
	if err := json.Unmarshal(body, &st); err != nil {
		return false, fmt.Errorf("reading the response: %w", err)
	}
	o.Status = st.Status
	if (objectState{Status: st.Status}).pending() {
		return false, g.objects.PutObject(ctx, o)
	}
	charged := false
	claim, err := g.claims.Take(ctx, "response-usage:"+o.Deployment+":"+o.UpstreamID, 1, backgroundClaimTTL, 1)
	if err != nil || claim.Allowed {
		u := st.Usage
		rec := usage.Record{
			Time: o.CreatedAt, RequestID: "background:" + o.UpstreamID,
			KeyID: o.KeyID, EventID: o.EventID, Attendee: o.Attendee, TeamID: o.TeamID,
			Model: d.Config.Model, Deployment: o.Deployment, Endpoint: provider.Responses.String(), Status: 200, Attempts: 1,
			PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens,
			CachedTokens: u.InputTokensDetails.CachedTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens,
		}
		if price, ok := g.price(g.priceModel(d, d.Config.Model)); ok {
			rec.Cost = price.Cost(rec.PromptTokens, rec.CachedTokens, rec.CompletionTokens)
		}
		if err := f.usage.InsertUsage(context.WithoutCancel(ctx), []usage.Record{rec}); err != nil {
			return false, err
		}
		charged = true
	}
	o.Done = true
	if err := g.objects.PutObject(ctx, o); err != nil {
		return false, err
	}
	if _, err := g.objects.ClaimCharge(ctx, o.ID); err != nil {
		return false, err
	}
	return charged, nil
}
