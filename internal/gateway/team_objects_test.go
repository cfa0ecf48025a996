package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestObjectsChargedToTeam: a file and a batch made with a team's key are
// registered with the team, so the batch's usage, read hours later, is
// charged to it.
func TestObjectsChargedToTeam(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	r, err := router.New(router.Options{Now: newClock().Now}, objectDeployments(env.urls))
	if err != nil {
		t.Fatal(err)
	}
	ring := auth.NewKeyring(nil, nil)
	h := auth.Hash("sk-team-red-1")
	ring.LoadAccess([]store.Key{{ID: "team-red-1", Hash: h[:], TeamID: "red"}}, nil, accessTestTeams)
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	gw := httptest.NewServer(New(Options{
		Router: r, Transport: tr, Retries: 1, Recorder: env.recs, OperationKey: env.opKey, Objects: env.store,
		Auth: ring, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(gw.Close)
	c := openai.NewClient(option.WithMaxRetries(0), option.WithHTTPClient(gw.Client()), option.WithBaseURL(gw.URL+"/v1"), option.WithAPIKey("sk-team-red-1"))

	in, err := c.Files.New(ctx, openai.FileNewParams{File: textFile(batchLines(2), "in.jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: in.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{in.ID, batch.ID} {
		o, err := env.store.GetObject(ctx, id)
		if err != nil || o.KeyID != "team-red-1" || o.TeamID != "red" {
			t.Errorf("registry entry of %s = key %q team %q, %v; want key team-red-1, team red", id, o.KeyID, o.TeamID, err)
		}
	}
}
