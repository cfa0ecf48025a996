package gateway

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// TestBatchFollowersTakeTurns: two replicas sharing Redis poll the
// upstreams once per interval between them, not once each. Without Redis
// the test skips (fails under CI): testenv decides.
func TestBatchFollowersTakeTurns(t *testing.T) {
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	prefix := "spillway-test:" + rand.Text() + ":"
	clock := newClock()
	shared := limits.NewRedis(client, prefix, clock.Now)

	ctx := context.Background()
	env := newObjectEnv(t, 0)
	c := env.clients(0, testKey)["openai"]
	in, err := c.Files.New(ctx, openai.FileNewParams{File: textFile(batchLines(1), "in.jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: in.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h}); err != nil {
		t.Fatal(err)
	}

	var followers [2]*BatchFollower
	for i := range followers {
		r, err := router.New(router.Options{Now: clock.Now}, objectDeployments(env.urls))
		if err != nil {
			t.Fatal(err)
		}
		gw := New(Options{Router: r, Claims: shared, Objects: env.store, OperationKey: env.opKey,
			Auth: auth.NewStaticKeys(nil), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		followers[i] = gw.NewBatchFollower(env.store)
		followers[i].interval = time.Minute
	}
	upstreamGETs := func() int64 { return env.mocks[0].Requests() + env.mocks[1].Requests() }

	before := upstreamGETs()
	for _, f := range followers {
		if _, err := f.Round(ctx); err != nil {
			t.Fatalf("Round: %v", err)
		}
	}
	if got := upstreamGETs() - before; got != 1 {
		t.Errorf("upstream polls by two replicas in one interval: %d, want 1", got)
	}
	clock.Advance(time.Minute)
	before = upstreamGETs()
	if _, err := followers[1].Round(ctx); err != nil {
		t.Fatalf("Round: %v", err)
	}
	if got := upstreamGETs() - before; got == 0 {
		t.Error("the next interval's turn polled nothing, want the other replica to poll")
	}
}
