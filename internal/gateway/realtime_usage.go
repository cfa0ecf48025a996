package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/usage"
)

// realtimeDone is what the gateway reads of a response.done event.
type realtimeDone struct {
	Type     string `json:"type"`
	Response struct {
		ID     string         `json:"id"`
		Status string         `json:"status"`
		Usage  *realtimeUsage `json:"usage"`
	} `json:"response"`
}

// realtimeUsage is a Realtime response's usage: input and output tokens,
// with their text, audio and cached parts.
type realtimeUsage struct {
	TotalTokens       int `json:"total_tokens"`
	InputTokens       int `json:"input_tokens"`
	OutputTokens      int `json:"output_tokens"`
	InputTokenDetails struct {
		CachedTokens        int `json:"cached_tokens"`
		TextTokens          int `json:"text_tokens"`
		AudioTokens         int `json:"audio_tokens"`
		ImageTokens         int `json:"image_tokens"`
		CachedTokensDetails struct {
			TextTokens  int `json:"text_tokens"`
			AudioTokens int `json:"audio_tokens"`
		} `json:"cached_tokens_details"`
	} `json:"input_token_details"`
	OutputTokenDetails struct {
		TextTokens  int `json:"text_tokens"`
		AudioTokens int `json:"audio_tokens"`
	} `json:"output_token_details"`
}

// charge records a response.done's usage as its own usage record, counts
// it against the key's tpm and budget and the deployment's tpm, and
// returns the refusal that closes the session when the key has no room
// left. A message that is not a response.done with usage charges nothing.
func (s *session) charge(ctx context.Context, msg []byte) error {
	u := responseDoneUsage(msg)
	if u == nil {
		return nil
	}
	g, req := s.g, s.req
	s.responses++
	rec := usage.Record{
		Time:             time.Now().UTC(),
		RequestID:        req.id + "." + strconv.Itoa(s.responses),
		Model:            req.model,
		Deployment:       req.res.deployment,
		Endpoint:         req.op.String(),
		Status:           200,
		Attempts:         req.res.attempts,
		Stream:           true,
		PromptTokens:     u.InputTokens,
		CompletionTokens: u.OutputTokens,
		TotalTokens:      u.TotalTokens,
		CachedTokens:     u.InputTokenDetails.CachedTokens,
	}
	if !s.responseStart.IsZero() {
		rec.Latency = time.Since(s.responseStart)
		s.responseStart = time.Time{}
	}
	if rec.TotalTokens == 0 {
		rec.TotalTokens = u.InputTokens + u.OutputTokens
	}
	stampPrincipal(&rec, req.principal)
	if price, ok := g.price(s.priceModel); ok {
		rec.Cost = realtimeCost(price, u)
	}
	if g.recorder != nil {
		g.recorder.Record(rec)
	}
	g.router.ChargeTokens(s.pick, int64(rec.TotalTokens))
	if g.access == nil || !req.admitted {
		return nil
	}
	g.access.Charge(ctx, req.grant, int64(rec.TotalTokens), rec.Cost)
	return g.access.Exhausted(ctx, req.grant)
}

// responseDoneUsage returns the usage of a response.done event, nil for
// any other message. Negative counts, which no upstream sends, read as 0:
// a broken upstream must not refund a key.
func responseDoneUsage(msg []byte) *realtimeUsage {
	var ev realtimeDone
	if json.Unmarshal(msg, &ev) != nil || ev.Type != "response.done" || ev.Response.Usage == nil {
		return nil
	}
	u := ev.Response.Usage
	for _, n := range []*int{&u.TotalTokens, &u.InputTokens, &u.OutputTokens, &u.InputTokenDetails.CachedTokens, &u.InputTokenDetails.TextTokens,
		&u.InputTokenDetails.AudioTokens, &u.InputTokenDetails.ImageTokens, &u.InputTokenDetails.CachedTokensDetails.TextTokens,
		&u.InputTokenDetails.CachedTokensDetails.AudioTokens, &u.OutputTokenDetails.TextTokens, &u.OutputTokenDetails.AudioTokens} {
		*n = max(*n, 0)
	}
	return u
}

// realtimeCost prices a response: audio tokens at the audio prices where
// the model has them, cached input at the cached price, the rest as text.
func realtimeCost(p usage.Price, u *realtimeUsage) float64 {
	in, out := p.InputCostPerToken, p.OutputCostPerToken
	audioIn, audioOut := p.AudioInputCostPerToken, p.AudioOutputCostPerToken
	if audioIn == 0 {
		audioIn = in
	}
	if audioOut == 0 {
		audioOut = out
	}
	cached := min(max(u.InputTokenDetails.CachedTokens, 0), u.InputTokens)
	freshAudio := max(u.InputTokenDetails.AudioTokens-u.InputTokenDetails.CachedTokensDetails.AudioTokens, 0)
	freshText := max(u.InputTokens-cached-freshAudio, 0)
	outAudio := min(max(u.OutputTokenDetails.AudioTokens, 0), u.OutputTokens)
	return p.Cost(freshText+cached, cached, u.OutputTokens-outAudio) + float64(freshAudio)*audioIn + float64(outAudio)*audioOut
}

// limitCode is the error code of a refusal, for the closing error event.
func limitCode(err error) string {
	var e *apierror.Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return "rate_limit_exceeded"
}
