package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// A batch's cost arrives when it completes, hours after the request that
// created it. The follower polls the registered batches that are not
// finished, on the deployment that holds each; when one has finished, it
// reads the output file and records one usage record per line against the
// key that created the batch, priced at batch prices, with the batch's id.
//
// Exactly once, across replicas and restarts: the records of a batch are
// the same whoever builds them (their time is the batch's completion,
// their request id the batch's and the line's), and the store's
// InsertUsage stores a set of records it has already stored as nothing.
// So two followers that read the same finished batch write its usage
// once, and a follower that stops between writing and marking the batch
// charged writes nothing more when it reads it again. Replicas sharing
// the claims limiter (Redis) also take turns, so one replica per interval
// polls the upstreams, not every one.

// UsageInserter stores usage records; store.Store implements it.
type UsageInserter interface {
	InsertUsage(ctx context.Context, records []usage.Record) error
}

// BatchFollower follows registered batches to their end.
type BatchFollower struct {
	g     *Gateway
	usage UsageInserter
	// interval is the turn the replicas take; 0 means every Round runs.
	interval time.Duration
}

// NewBatchFollower returns a follower of g's registered batches that
// writes their usage to ins.
func (g *Gateway) NewBatchFollower(ins UsageInserter) *BatchFollower {
	return &BatchFollower{g: g, usage: ins}
}

// DefaultBatchPoll is how often batches are polled.
const DefaultBatchPoll = time.Minute

// Run follows batches every interval until ctx is done.
func (f *BatchFollower) Run(ctx context.Context, interval time.Duration) {
	if f.g.objects == nil || f.usage == nil {
		return
	}
	f.interval = interval
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := f.Round(ctx); err != nil && ctx.Err() == nil {
				f.g.log.Warn("batch follower", "err", err)
			}
		}
	}
}

// batchChunk is how many records one InsertUsage carries: a chunk is the
// same on every read of the output file, so a retried chunk is stored
// once.
const batchChunk = 500

// Round polls every unfinished batch and background response once, when
// it is this replica's turn, and returns how many finished ones it
// recorded the usage of.
func (f *BatchFollower) Round(ctx context.Context) (int, error) {
	g := f.g
	if g.objects == nil || f.usage == nil {
		return 0, nil
	}
	if f.interval > 0 {
		d, err := g.claims.Take(ctx, "batch:turn", 1, f.interval, 1)
		if err == nil && !d.Allowed {
			return 0, nil // another replica's turn
		}
	}
	var pending []store.Object
	for _, kind := range []string{store.KindBatch, store.KindResponse} {
		objs, err := g.objects.ListObjects(ctx, store.ObjectQuery{Kind: kind, Pending: true, Ascending: true, Limit: store.MaxObjectLimit})
		if err != nil {
			return 0, err
		}
		pending = append(pending, objs...)
	}
	var errs []error
	charged := 0
	for _, o := range pending {
		if ctx.Err() != nil {
			break
		}
		follow := f.follow
		if o.Kind == store.KindResponse {
			follow = f.followResponse
		}
		done, err := follow(ctx, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("batch %s: %w", o.UpstreamID, err))
		}
		if done {
			charged++
		}
	}
	return charged, errors.Join(errs...)
}

// batchState is what the follower reads of a batch.
type batchState struct {
	Status       string `json:"status"`
	OutputFileID string `json:"output_file_id"`
	CompletedAt  int64  `json:"completed_at"`
	CancelledAt  int64  `json:"cancelled_at"`
	ExpiredAt    int64  `json:"expired_at"`
	FailedAt     int64  `json:"failed_at"`
}

// ended is when the batch finished, the time of its usage records; the
// same for every follower that reads it.
func (st batchState) ended(o store.Object) time.Time {
	if t := max(st.CompletedAt, st.CancelledAt, st.ExpiredAt, st.FailedAt); t > 0 {
		return time.Unix(t, 0).UTC()
	}
	return o.CreatedAt
}

// follow polls one batch, refreshes its registry entry, and records its
// usage once it is finished. It reports whether it did.
func (f *BatchFollower) follow(ctx context.Context, o store.Object) (bool, error) {
	g := f.g
	d, ok := g.router.Deployment(o.Deployment)
	if !ok {
		// Nothing can be read any more: stop following it.
		o.Status, o.Done = "deployment_gone", true
		g.log.Warn("batch's deployment is gone; its usage cannot be read", "batch", o.ID, "deployment", o.Deployment)
		return false, g.objects.PutObject(ctx, o)
	}
	body, err := f.get(ctx, d, d.Target.ObjectURL(provider.BatchGet, o.UpstreamID))
	var st404 *upstreamStatusError
	if errors.As(err, &st404) && st404.status == http.StatusNotFound {
		// The upstream no longer knows it (deleted behind the gateway's
		// back, or past its retention): nothing more can be read.
		o.Status, o.Done = "not_found_upstream", true
		g.log.Warn("batch unknown upstream; its usage cannot be read", "batch", o.ID, "deployment", o.Deployment)
		return false, g.objects.PutObject(ctx, o)
	}
	if err != nil {
		return false, err
	}
	var st batchState
	if err := json.Unmarshal(body, &st); err != nil {
		return false, fmt.Errorf("reading the batch: %w", err)
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&v) == nil {
		g.signIDs(v, o.Deployment, o.KeyID)
		if b, err := marshalAnswer(v); err == nil {
			o.Data = string(bytes.TrimRight(b, "\n"))
		}
	}
	o.Status = st.Status
	if !terminal[st.Status] {
		return false, g.objects.PutObject(ctx, o)
	}
	if st.OutputFileID != "" && !o.Charged {
		if err := f.charge(ctx, o, d, st); err != nil {
			return false, err // not marked done: the next round tries again
		}
	}
	o.Done = true
	if err := g.objects.PutObject(ctx, o); err != nil {
		return false, err
	}
	won, err := g.objects.ClaimCharge(ctx, o.ID)
	if err == nil && won {
		g.log.Info("batch usage recorded", "batch", o.ID, "key", o.KeyID, "status", st.Status)
	}
	return won, err
}

// get reads an upstream answer whole.
func (f *BatchFollower) get(ctx context.Context, d *router.Deployment, u fmt.Stringer) ([]byte, error) {
	resp, err := f.open(ctx, d, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxObjectAnswer))
}

// open sends a GET to the deployment with its credentials.
func (f *BatchFollower) open(ctx context.Context, d *router.Deployment, u fmt.Stringer) (*http.Response, error) {
	if u == nil {
		return nil, errors.New("the deployment does not serve batches")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if err := d.Target.Authorize(ctx, req.Header); err != nil {
		return nil, err
	}
	resp, err := f.g.transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, &upstreamStatusError{status: resp.StatusCode, body: string(b)}
	}
	return resp, nil
}

// upstreamStatusError is an upstream's answer other than 200.
type upstreamStatusError struct {
	status int
	body   string
}

func (e *upstreamStatusError) Error() string {
	return fmt.Sprintf("upstream answered %d: %s", e.status, e.body)
}

// outputLine is what the follower reads of a line of a batch's output.
type outputLine struct {
	CustomID string `json:"custom_id"`
	Response struct {
		StatusCode int `json:"status_code"`
		Body       struct {
			Model string     `json:"model"`
			Usage usageCount `json:"usage"`
		} `json:"body"`
	} `json:"response"`
}

type usageCount struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// maxOutputLine bounds one line of a batch's output.
const maxOutputLine = 16 << 20

// charge reads the output file line by line and stores one record per
// line, in chunks.
func (f *BatchFollower) charge(ctx context.Context, o store.Object, d *router.Deployment, st batchState) error {
	resp, err := f.open(ctx, d, d.Target.ObjectURL(provider.FileContent, st.OutputFileID))
	if err != nil {
		return fmt.Errorf("reading the output file: %w", err)
	}
	defer resp.Body.Close()
	at := st.ended(o)
	model := d.Config.Model
	price, _ := f.g.price(f.g.priceModel(d, model))
	price = batchPrice(price, d.Config.ModelInfo)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxOutputLine)
	chunk := make([]usage.Record, 0, batchChunk)
	n := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := f.usage.InsertUsage(context.WithoutCancel(ctx), chunk)
		chunk = chunk[:0]
		return err
	}
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		n++
		var l outputLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("output line %d: %w", n, err)
		}
		u := l.Response.Body.Usage
		rec := usage.Record{
			Time: at, RequestID: "batch:" + o.UpstreamID + ":" + strconv.Itoa(n) + ":" + l.CustomID,
			KeyID: o.KeyID, EventID: o.EventID, Attendee: o.Attendee, TeamID: o.TeamID, BatchID: o.ID,
			Model: model, Deployment: o.Deployment, Endpoint: "batch", Status: l.Response.StatusCode, Attempts: 1,
			PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
			CachedTokens: u.PromptTokensDetails.CachedTokens, ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens,
		}
		rec.Cost = price.Cost(u.PromptTokens, u.PromptTokensDetails.CachedTokens, u.CompletionTokens)
		chunk = append(chunk, rec)
		if len(chunk) == batchChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the output file: %w", err)
	}
	return flush()
}

// batchPrice is the price of batch requests: the deployment's model_info
// input_cost_per_token_batches and output_cost_per_token_batches
// (LiteLLM's names) when it sets them, else half of the model's price, as
// OpenAI and Azure charge batches; cached prompt tokens at half the
// model's cached price.
func batchPrice(p usage.Price, info map[string]any) usage.Price {
	b := usage.Price{
		InputCostPerToken:       p.InputCostPerToken / 2,
		OutputCostPerToken:      p.OutputCostPerToken / 2,
		CachedInputCostPerToken: p.CachedInputCostPerToken / 2,
	}
	if v, ok := info["input_cost_per_token_batches"].(float64); ok && v > 0 {
		b.InputCostPerToken = v
	}
	if v, ok := info["output_cost_per_token_batches"].(float64); ok && v > 0 {
		b.OutputCostPerToken = v
	}
	return b
}
