package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/router"
)

// surfaceEnv is N gateway replicas that share a secret (so each other's
// ids) and a claims limiter (as they would share Redis), in front of two
// simulated Azure OpenAI resources that each keep their own responses.
type surfaceEnv struct {
	replicas []*httptest.Server
	recs     []*records
}

func newSurfaceEnv(t *testing.T, replicas int, faults ...mock.Fault) *surfaceEnv {
	t.Helper()
	var urls [2]string
	for i, name := range []string{"eastus", "westus"} {
		m := mock.New(mock.Options{Name: name, Seed: 1, Faults: faults})
		srv := httptest.NewServer(m)
		t.Cleanup(func() { srv.Close(); m.Close() })
		urls[i] = srv.URL
	}
	dep := func(id, model, class string, i int) config.Deployment {
		return config.Deployment{ID: id, Model: model, Class: class, Provider: config.ProviderAzure, Endpoint: urls[i],
			Deployment: model, APIVersion: config.DefaultAPIVersion, APIKey: "upstream-key", Priority: 1, Weight: 1}
	}
	deps := []config.Deployment{
		dep("chat-east", "gpt-4o", config.ClassChat, 0),
		dep("chat-west", "gpt-4o", config.ClassChat, 1),
		dep("o4-east", "o4-mini", config.ClassChat, 0),
	}
	key := OperationKey([]byte("a secret every replica shares"))
	clock := newClock()
	claims := limits.NewMemory(clock.Now)
	env := &surfaceEnv{}
	for range replicas {
		r, err := router.New(router.Options{Now: clock.Now}, deps)
		if err != nil {
			t.Fatal(err)
		}
		tr := NewTransport(2*time.Second, 10*time.Second)
		t.Cleanup(tr.CloseIdleConnections)
		recs := newRecords()
		srv := httptest.NewServer(New(Options{
			Router: r, Transport: tr, Retries: 2, OperationKey: key, Claims: claims, Recorder: recs,
			Auth:   auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "sdk"}, {Key: otherKey, Name: "other"}}),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}))
		t.Cleanup(srv.Close)
		env.replicas = append(env.replicas, srv)
		env.recs = append(env.recs, recs)
	}
	return env
}

// clients returns the SDK pointed at replica i in each mode a customer
// uses: OpenAI's, the azure package's (which sends the Responses API to
// /openai/responses?api-version), and Azure's v1 API.
func (e *surfaceEnv) clients(i int, key string) map[string]openai.Client {
	gw := e.replicas[i]
	common := []option.RequestOption{option.WithMaxRetries(0), option.WithHTTPClient(gw.Client())}
	return map[string]openai.Client{
		"openai": openai.NewClient(append(common, option.WithBaseURL(gw.URL+"/v1"), option.WithAPIKey(key))...),
		"azure": openai.NewClient(append(common,
			azure.WithEndpoint(gw.URL, "2025-04-01-preview"), azure.WithAPIKey(key), azure.WithUnsafeAllowHTTP())...),
		"azure-v1": openai.NewClient(append(common, option.WithBaseURL(gw.URL+"/openai/v1"), option.WithAPIKey(key))...),
	}
}

func input(s string) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

func apiStatus(err error) int {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func TestSDKResponsesLifecycle(t *testing.T) {
	ctx := context.Background()
	env := newSurfaceEnv(t, 1)
	for mode, c := range env.clients(0, testKey) {
		t.Run(mode, func(t *testing.T) {
			r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Instructions: openai.String("Be brief."), Input: input("What does a spillway do?")})
			if err != nil {
				t.Fatalf("Responses.New: %v", err)
			}
			if !strings.HasPrefix(r.ID, "resp_sw") || r.Status != responses.ResponseStatusCompleted || r.OutputText() == "" || r.Usage.OutputTokens == 0 {
				t.Fatalf("response id %q status %q text %q usage %+v; want a gateway id and a completed answer", r.ID, r.Status, r.OutputText(), r.Usage)
			}
			// Four reads: round robin would send half to the other resource,
			// which does not know the response.
			for range 4 {
				got, err := c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
				if err != nil || got.ID != r.ID || got.OutputText() != r.OutputText() {
					t.Fatalf("Responses.Get = %+v, %v; want the same response", got, err)
				}
			}
			items, err := c.Responses.InputItems.List(ctx, r.ID, responses.InputItemListParams{Limit: openai.Int(5)})
			if err != nil || len(items.Data) != 1 || items.Data[0].Role != "user" {
				t.Fatalf("InputItems.List = %+v, %v; want the user message", items, err)
			}
			n, err := c.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Model: openai.String("gpt-4o"), Input: responses.InputTokenCountParamsInputUnion{OfString: openai.String("Tell me a joke.")}})
			if err != nil || n.InputTokens <= 0 {
				t.Errorf("InputTokens.Count = %+v, %v; want a count", n, err)
			}
			if err := c.Responses.Delete(ctx, r.ID); err != nil {
				t.Fatalf("Responses.Delete: %v", err)
			}
			if _, err := c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{}); apiStatus(err) != http.StatusNotFound {
				t.Errorf("Get after Delete: %v, want 404", err)
			}
		})
	}
}

func TestSDKResponsesStreamAndReasoning(t *testing.T) {
	ctx := context.Background()
	env := newSurfaceEnv(t, 1)
	for mode, c := range env.clients(0, testKey) {
		t.Run(mode, func(t *testing.T) {
			stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{
				Model:     "o4-mini",
				Input:     input("What does a spillway do?"),
				Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortLow},
			})
			defer stream.Close()
			var text strings.Builder
			var created, last responses.Response
			for stream.Next() {
				switch ev := stream.Current(); ev.Type {
				case "response.created":
					created = ev.AsResponseCreated().Response
				case "response.output_text.delta":
					text.WriteString(ev.Delta)
				case "response.completed":
					last = ev.AsResponseCompleted().Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if !strings.HasPrefix(created.ID, "resp_sw") || last.ID != created.ID || last.OutputText() != text.String() || text.Len() == 0 {
				t.Errorf("created %q completed %q, deltas %q final %q; want one gateway id and the same text", created.ID, last.ID, text.String(), last.OutputText())
			}
			if last.Usage.OutputTokensDetails.ReasoningTokens == 0 {
				t.Errorf("usage %+v, want reasoning tokens", last.Usage)
			}
			// The stream's id works for a later read.
			if got, err := c.Responses.Get(ctx, last.ID, responses.ResponseGetParams{}); err != nil || got.OutputText() != last.OutputText() {
				t.Errorf("Get of a streamed response = %v, %v", got, err)
			}
		})
	}
	// Every stream was metered with its reasoning tokens.
	for i := range 3 {
		if rec := env.recs[0].wait(t, 2*i+1); rec.Endpoint != "responses" || rec.ReasoningTokens == 0 || rec.CompletionTokens == 0 || rec.Estimated {
			t.Errorf("record %d: %+v, want a responses record with reasoning tokens", 2*i+1, rec)
		}
	}
}

func TestSDKResponsesStructuredOutput(t *testing.T) {
	env := newSurfaceEnv(t, 1)
	c := env.clients(0, testKey)["azure"]
	r, err := c.Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "gpt-4o",
		Input: input("Name a river."),
		Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigParamOfJSONSchema("river", map[string]any{
			"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"},
		})},
		Include: []responses.ResponseIncludable{responses.ResponseIncludableMessageOutputTextLogprobs},
	})
	if err != nil {
		t.Fatalf("Responses.New: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(r.OutputText()), &v); err != nil {
		t.Errorf("output %q is not the JSON the format asked for: %v", r.OutputText(), err)
	}
}

func TestSDKResponseChainsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	env := newSurfaceEnv(t, 2)
	weather := responses.ToolParamOfFunction("get_weather", map[string]any{
		"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"},
	}, true)
	for mode := range env.clients(0, testKey) {
		t.Run(mode, func(t *testing.T) {
			a, b := env.clients(0, testKey)[mode], env.clients(1, testKey)[mode]
			first, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: input("What's the weather in Lyon?"), Tools: []responses.ToolUnionParam{weather}})
			if err != nil {
				t.Fatalf("Responses.New on replica A: %v", err)
			}
			if len(first.Output) == 0 || first.Output[0].Type != "function_call" {
				t.Fatalf("output %+v, want a function call", first.Output)
			}
			call := first.Output[0].AsFunctionCall()
			out := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temperature":4}`)
			out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
			prev := first.ID
			// Several links, all on replica B: each must reach the resource
			// that holds the chain.
			for i := range 3 {
				next, err := b.Responses.New(ctx, responses.ResponseNewParams{
					Model: "gpt-4o", PreviousResponseID: openai.String(prev),
					Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{out}},
					Tools: []responses.ToolUnionParam{weather},
				})
				if err != nil {
					t.Fatalf("link %d on replica B: %v", i, err)
				}
				if next.PreviousResponseID != prev || next.Usage.InputTokensDetails.CachedTokens == 0 || next.OutputText() == "" {
					t.Errorf("link %d: previous %q (want %q), usage %+v, text %q", i, next.PreviousResponseID, prev, next.Usage, next.OutputText())
				}
				prev = next.ID
			}
			// Another key sees none of it.
			other := env.clients(1, otherKey)[mode]
			if _, err := other.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); apiStatus(err) != http.StatusNotFound {
				t.Errorf("another key read the response: %v, want 404", err)
			}
			if _, err := other.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", PreviousResponseID: openai.String(first.ID), Input: input("hi")}); apiStatus(err) != http.StatusNotFound {
				t.Errorf("another key continued the chain: %v, want 404", err)
			}
		})
	}
}

func TestSDKBackgroundPolledOnAnotherReplica(t *testing.T) {
	ctx := context.Background()
	env := newSurfaceEnv(t, 2)
	for mode := range env.clients(0, testKey) {
		t.Run(mode, func(t *testing.T) {
			a, b := env.clients(0, testKey)[mode], env.clients(1, testKey)[mode]
			r, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: input("Hi"), Background: openai.Bool(true)})
			if err != nil {
				t.Fatalf("Responses.New: %v", err)
			}
			statuses := []responses.ResponseStatus{r.Status}
			for r.Status != responses.ResponseStatusCompleted && len(statuses) < 6 {
				if r, err = b.Responses.Get(ctx, r.ID, responses.ResponseGetParams{}); err != nil {
					t.Fatalf("poll on replica B: %v", err)
				}
				statuses = append(statuses, r.Status)
			}
			if r.Status != responses.ResponseStatusCompleted || r.OutputText() == "" {
				t.Errorf("statuses %v, text %q; want it completed with an answer", statuses, r.OutputText())
			}
			r, err = a.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: input("Hi"), Background: openai.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if r, err = b.Responses.Cancel(ctx, r.ID); err != nil || r.Status != responses.ResponseStatusCancelled {
				t.Errorf("Cancel on replica B = %v, %v; want cancelled", r, err)
			}
		})
	}
	// The completed jobs' tokens were recorded exactly once, on whichever
	// replica saw them done first.
	charged := 0
	for _, recs := range env.recs {
		recs.mu.Lock()
		for _, rec := range recs.list {
			if rec.Endpoint == "response-get" && rec.CompletionTokens > 0 {
				charged++
			}
		}
		recs.mu.Unlock()
	}
	if charged != 3 {
		t.Errorf("%d polls charged tokens, want 3 (one per completed background response)", charged)
	}
}

func TestSDKResponsesStreamBrokenMidway(t *testing.T) {
	env := newSurfaceEnv(t, 1, mock.Fault{Kind: mock.FaultResetMidStream, After: 4})
	c := env.clients(0, testKey)["openai"]
	stream := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt-4o", Input: input("Hi")})
	defer stream.Close()
	var types []string
	for stream.Next() {
		types = append(types, stream.Current().Type)
	}
	if stream.Err() == nil {
		t.Errorf("events %v ended without an error; want the broken stream to fail", types)
	}
	if len(types) == 0 || types[len(types)-1] != "error" {
		t.Errorf("events %v, want the gateway's error event last", types)
	}
}
