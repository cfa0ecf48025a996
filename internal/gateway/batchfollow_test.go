package gateway

import (
	"context"
	"math"
	"net/http"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// teeInserter stores records in the real store and keeps what it was given.
type teeInserter struct {
	st   store.Store
	mu   sync.Mutex
	seen []usage.Record
}

func (ti *teeInserter) InsertUsage(ctx context.Context, records []usage.Record) error {
	ti.mu.Lock()
	ti.seen = append(ti.seen, records...)
	ti.mu.Unlock()
	return ti.st.InsertUsage(ctx, records)
}

// TestBatchUsageRecordedOnce runs the followers of both replicas, at the
// same time and again after, and a fresh one as after a restart: the
// batch's three output lines are stored as three records, once.
func TestBatchUsageRecordedOnce(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	c := env.clients(0, testKey)["openai"]
	in, err := c.Files.New(ctx, openai.FileNewParams{File: textFile(batchLines(3), "in.jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: in.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	tee := &teeInserter{st: env.store}
	gws := [2]*Gateway{env.replicas[0].Config.Handler.(*Gateway), env.replicas[1].Config.Handler.(*Gateway)}
	followers := []*BatchFollower{gws[0].NewBatchFollower(tee), gws[1].NewBatchFollower(tee)}

	charged := 0
	for range 3 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, f := range followers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := f.Round(ctx)
				if err != nil {
					t.Errorf("Round: %v", err)
				}
				mu.Lock()
				charged += n
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	if n, err := gws[0].NewBatchFollower(tee).Round(ctx); err != nil || n != 0 {
		t.Errorf("a restarted follower: charged %d, %v; want 0, nil", n, err)
	}
	if charged != 1 {
		t.Errorf("batches charged: got %d, want 1", charged)
	}

	// A follower that stopped after writing the usage but before marking
	// the batch charged reads it all again: nothing more is stored.
	o, err := env.store.GetObject(ctx, batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	o.Charged, o.Done = false, false
	if won, err := followers[1].follow(ctx, o); err != nil || won {
		t.Errorf("following again: %v, %v; want no new charge", won, err)
	}

	rows, err := env.store.QueryUsage(ctx, store.UsageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Requests != 3 || rows[0].TotalTokens == 0 {
		t.Fatalf("stored usage %+v, want 3 records with tokens", rows)
	}
	price, ok := usage.Lookup("gpt-4o")
	if !ok {
		t.Fatal("gpt-4o has no price")
	}
	want := (float64(rows[0].PromptTokens)*price.InputCostPerToken + float64(rows[0].CompletionTokens)*price.OutputCostPerToken) / 2
	if math.Abs(rows[0].Cost-want) > 1e-12 {
		t.Errorf("cost %g, want half price %g", rows[0].Cost, want)
	}
	tee.mu.Lock()
	for _, rec := range tee.seen {
		if rec.BatchID != batch.ID || rec.KeyID != "static:sdk" || rec.Endpoint != "batch" || rec.Status != http.StatusOK {
			t.Errorf("record %+v: want batch %s, the creator's key, endpoint batch, 200", rec, batch.ID)
		}
	}
	tee.mu.Unlock()
	got, err := env.store.GetObject(ctx, batch.ID)
	if err != nil || !got.Done || !got.Charged || got.Status != "completed" {
		t.Errorf("registry entry %+v, %v; want done, charged, completed", got, err)
	}
	if b, err := c.Batches.List(ctx, openai.BatchListParams{}); err != nil || len(b.Data) != 1 || b.Data[0].Status != openai.BatchStatusCompleted {
		t.Errorf("listed batches %+v, %v; want it completed, as the follower saw it", b, err)
	}
}

// TestBatchFollowerStopsOnUnknownBatch: a batch the upstream no longer
// knows is marked done, not polled forever.
func TestBatchFollowerStopsOnUnknownBatch(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	gw := env.replicas[0].Config.Handler.(*Gateway)
	o := store.Object{ID: "batch_swgone", Kind: store.KindBatch, KeyID: "static:sdk", Deployment: "chat-east", UpstreamID: "batch_never_made", Status: "in_progress"}
	if err := env.store.PutObject(ctx, o); err != nil {
		t.Fatal(err)
	}
	gone := o
	gone.ID, gone.Deployment = "batch_swnodep", "removed-deployment"
	if err := env.store.PutObject(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if n, err := gw.NewBatchFollower(env.store).Round(ctx); err != nil || n != 0 {
		t.Fatalf("Round: %d, %v; want 0, nil", n, err)
	}
	for id, want := range map[string]string{o.ID: "not_found_upstream", gone.ID: "deployment_gone"} {
		got, err := env.store.GetObject(ctx, id)
		if err != nil || !got.Done || got.Status != want {
			t.Errorf("%s: %+v, %v; want done with status %s", id, got, err, want)
		}
	}
	if left, _ := env.store.ListObjects(ctx, store.ObjectQuery{Kind: store.KindBatch, Pending: true}); len(left) != 0 {
		t.Errorf("batches still followed: %d, want none", len(left))
	}
}

// TestBackgroundResponseChargedWithoutPolls: a background response whose
// client never polls again is charged by the follower, once; a poll after
// that records no tokens.
func TestBackgroundResponseChargedWithoutPolls(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	c := env.clients(0, testKey)["openai"]
	r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Background: openai.Bool(true),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Write a long essay")}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != responses.ResponseStatusQueued {
		t.Fatalf("status %q, want queued", r.Status)
	}
	env.recs.wait(t, 1)
	gw := env.replicas[0].Config.Handler.(*Gateway)
	tee := &teeInserter{st: env.store}
	follower := gw.NewBatchFollower(tee)
	charged := 0
	for range 4 {
		n, err := follower.Round(ctx)
		if err != nil {
			t.Fatalf("Round: %v", err)
		}
		charged += n
	}
	if charged != 1 || len(tee.seen) != 1 {
		t.Fatalf("charged %d, records %d; want the response charged once", charged, len(tee.seen))
	}
	rec := tee.seen[0]
	if rec.KeyID != "static:sdk" || rec.PromptTokens == 0 || rec.CompletionTokens == 0 || rec.Cost == 0 || rec.Endpoint != "responses" {
		t.Errorf("record %+v: want the key's, with tokens and cost", rec)
	}
	got, err := c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
	if err != nil || got.Status != responses.ResponseStatusCompleted {
		t.Fatalf("poll: %v, %v", got.Status, err)
	}
	if poll := env.recs.wait(t, 2); poll.TotalTokens != 0 {
		t.Errorf("the poll after the follower charged recorded %d tokens, want 0", poll.TotalTokens)
	}
}

// TestFollowerChargesTheAttendee: a batch and a background response made
// with an event attendee's key are charged by the follower to that key,
// its event and its attendee, as the attendee's own requests are, so an
// event's report by attendee counts them.
func TestFollowerChargesTheAttendee(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	c := env.clients(0, attendeeKey)["openai"]
	in, err := c.Files.New(ctx, openai.FileNewParams{File: textFile(batchLines(2), "in.jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: in.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Background: openai.Bool(true),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Write a long essay")}}); err != nil {
		t.Fatal(err)
	}
	tee := &teeInserter{st: env.store}
	follower := env.replicas[0].Config.Handler.(*Gateway).NewBatchFollower(tee)
	for range 4 {
		if _, err := follower.Round(ctx); err != nil {
			t.Fatalf("Round: %v", err)
		}
	}
	tee.mu.Lock()
	defer tee.mu.Unlock()
	endpoints := map[string]int{}
	for _, rec := range tee.seen {
		endpoints[rec.Endpoint]++
		if rec.KeyID != "key_ada" || rec.EventID != "ev_hack" || rec.Attendee != "ada@example.com" {
			t.Errorf("%s record: key %q, event %q, attendee %q; want key_ada, ev_hack, ada@example.com", rec.Endpoint, rec.KeyID, rec.EventID, rec.Attendee)
		}
	}
	if endpoints["batch"] != 2 || endpoints["responses"] != 1 {
		t.Errorf("records by endpoint %v, want 2 batch and 1 responses", endpoints)
	}
}

// TestBatchPrice: half the model's prices, cached prompt tokens at half
// the cached price, model_info's batch prices when set.
func TestBatchPrice(t *testing.T) {
	list := usage.Price{InputCostPerToken: 4, OutputCostPerToken: 8, CachedInputCostPerToken: 1}
	tests := []struct {
		name string
		info map[string]any
		want float64 // 10 prompt tokens, 6 of them cached, 5 completion
	}{
		{"half price", nil, 4*2 + 6*0.5 + 5*4},
		{"model_info", map[string]any{"input_cost_per_token_batches": 3.0, "output_cost_per_token_batches": 5.0}, 4*3 + 6*0.5 + 5*5},
	}
	for _, tt := range tests {
		if got := batchPrice(list, tt.info).Cost(10, 6, 5); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: cost %g, want %g", tt.name, got, tt.want)
		}
	}
}
