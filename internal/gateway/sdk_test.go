package gateway

import (
	"context"
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

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/router"
)

// sdkEnv is the real gateway in front of two simulated Azure OpenAI
// resources, driven by the official openai-go SDK.
type sdkEnv struct {
	gw    *httptest.Server
	mocks [2]*mock.Server
	clock *clock
}

func newSDKEnv(t *testing.T) *sdkEnv {
	t.Helper()
	env := &sdkEnv{clock: newClock()}
	var urls [2]string
	for i := range env.mocks {
		env.mocks[i] = mock.New(mock.Options{Name: []string{"eastus", "westus"}[i], Seed: 1})
		srv := httptest.NewServer(env.mocks[i])
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	dep := func(id, model, class string, i int) config.Deployment {
		return config.Deployment{ID: id, Model: model, Class: class, Provider: config.ProviderAzure, Endpoint: urls[i],
			Deployment: model, APIVersion: config.DefaultAPIVersion, APIKey: "upstream-key", Priority: 1, Weight: 1}
	}
	r, err := router.New(router.Options{Now: env.clock.Now}, []config.Deployment{
		dep("chat-east", "gpt-4o", config.ClassChat, 0),
		dep("chat-west", "gpt-4o", config.ClassChat, 1),
		dep("instruct-east", "gpt-35-turbo-instruct", config.ClassCompletions, 0),
		dep("embed-west", "text-embedding-3-small", config.ClassEmbeddings, 1),
		dep("dalle-east", "dall-e-3", config.ClassImages, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	env.gw = httptest.NewServer(New(Options{
		Router: r, Transport: tr, Retries: 2,
		Auth:   auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "sdk"}}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(env.gw.Close)
	return env
}

// clients returns the SDK in each mode a customer uses.
func (e *sdkEnv) clients(key string) map[string]openai.Client {
	common := []option.RequestOption{option.WithMaxRetries(0), option.WithHTTPClient(e.gw.Client())}
	return map[string]openai.Client{
		"openai": openai.NewClient(append(common, option.WithBaseURL(e.gw.URL+"/v1"), option.WithAPIKey(key))...),
		"azure": openai.NewClient(append(common,
			azure.WithEndpoint(e.gw.URL, "2024-10-21"), azure.WithAPIKey(key), azure.WithUnsafeAllowHTTP())...),
		"azure-v1": openai.NewClient(append(common, option.WithBaseURL(e.gw.URL+"/openai/v1"), option.WithAPIKey(key))...),
	}
}

func sdkChat(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:               model,
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("What does a spillway do?")},
		MaxCompletionTokens: openai.Int(8),
	}
}

func TestSDKChatRoundRobin(t *testing.T) {
	env := newSDKEnv(t)
	for mode, c := range env.clients(testKey) {
		t.Run(mode, func(t *testing.T) {
			seen := map[string]int{}
			for range 4 {
				var resp *http.Response
				got, err := c.Chat.Completions.New(context.Background(), sdkChat("gpt-4o"), option.WithResponseInto(&resp))
				if err != nil {
					t.Fatalf("Chat.Completions.New: %v", err)
				}
				if len(got.Choices) != 1 || got.Choices[0].Message.Content == "" || got.Usage.TotalTokens == 0 {
					t.Fatalf("answer = %+v, want one choice with content and usage", got)
				}
				seen[resp.Header.Get("X-Spillway-Deployment")]++
			}
			if seen["chat-east"] != 2 || seen["chat-west"] != 2 {
				t.Errorf("answered by %v, want chat-east and chat-west twice each", seen)
			}
		})
	}
}

func TestSDKChatStream(t *testing.T) {
	env := newSDKEnv(t)
	for mode, c := range env.clients(testKey) {
		t.Run(mode, func(t *testing.T) {
			params := sdkChat("gpt-4o")
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := c.Chat.Completions.NewStreaming(context.Background(), params)
			defer stream.Close()
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				chunks++
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if chunks < 3 || len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" {
				t.Errorf("%d chunks accumulated to %+v, want a streamed answer", chunks, acc.Choices)
			}
			if acc.Usage.CompletionTokens != 8 {
				t.Errorf("usage = %+v, want 8 completion tokens from the usage chunk", acc.Usage)
			}
		})
	}
}

func TestSDKCompletionsEmbeddingsImages(t *testing.T) {
	env := newSDKEnv(t)
	ctx := context.Background()
	for mode, c := range env.clients(testKey) {
		t.Run(mode, func(t *testing.T) {
			comp, err := c.Completions.New(ctx, openai.CompletionNewParams{
				Model:     "gpt-35-turbo-instruct",
				Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say hello")},
				MaxTokens: openai.Int(5),
			})
			if err != nil || len(comp.Choices) != 1 || comp.Choices[0].Text == "" {
				t.Errorf("Completions.New = %+v, %v; want one text choice", comp, err)
			}
			// The SDK asks for base64 embeddings by default and decodes them.
			emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Model:      "text-embedding-3-small",
				Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one", "two"}},
				Dimensions: openai.Int(32),
			})
			if err != nil || len(emb.Data) != 2 || len(emb.Data[1].Embedding) != 32 {
				t.Errorf("Embeddings.New = %d vectors, %v; want 2 of 32 dimensions", len(emb.Data), err)
			}
			img, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: openai.ImageModel("dall-e-3"), Prompt: "a spillway at dawn", N: openai.Int(1)})
			if err != nil || len(img.Data) != 1 || (img.Data[0].URL == "" && img.Data[0].B64JSON == "") {
				t.Errorf("Images.Generate = %+v, %v; want one image", img, err)
			}
		})
	}
}

func TestSDKSeesGatewayErrors(t *testing.T) {
	env := newSDKEnv(t)
	ctx := context.Background()
	for mode, c := range env.clients(testKey) {
		t.Run(mode, func(t *testing.T) {
			_, err := c.Chat.Completions.New(ctx, sdkChat("gpt-5"))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || !strings.Contains(apiErr.Message, "gpt-4o") {
				t.Errorf("unknown model: error %v, want a 404 model_not_found naming gpt-4o", err)
			}
		})
	}
	for mode, c := range env.clients("sk-wrong") {
		t.Run(mode+"/bad key", func(t *testing.T) {
			_, err := c.Chat.Completions.New(ctx, sdkChat("gpt-4o"))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
				t.Errorf("bad key: error %v, want a 401 invalid_api_key", err)
			}
		})
	}
}

// TestSDKFailoverAndCooldown: one resource throttled, the SDK never sees it;
// both throttled, the SDK gets 429 with the soonest Retry-After.
func TestSDKFailoverAndCooldown(t *testing.T) {
	env := newSDKEnv(t)
	c := env.clients(testKey)["openai"]
	ctx := context.Background()
	env.mocks[0].SetFaults([]mock.Fault{{Kind: mock.FaultStatus, Status: 429, RetryAfter: 20 * time.Second}})
	for range 3 {
		var resp *http.Response
		if _, err := c.Chat.Completions.New(ctx, sdkChat("gpt-4o"), option.WithResponseInto(&resp)); err != nil {
			t.Fatalf("with one resource throttled: %v", err)
		}
		if got := resp.Header.Get("X-Spillway-Deployment"); got != "chat-west" {
			t.Errorf("answered by %q, want chat-west", got)
		}
	}
	env.mocks[1].SetFaults([]mock.Fault{{Kind: mock.FaultStatus, Status: 429, RetryAfter: 5 * time.Second}})
	var resp *http.Response
	_, err := c.Chat.Completions.New(ctx, sdkChat("gpt-4o"), option.WithResponseInto(&resp))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("both throttled: error %v, want a 429", err)
	}
	if got := apiErr.Response.Header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5 (the soonest recovery)", got)
	}
}

func TestSDKStreamBrokenMidwayIsAnError(t *testing.T) {
	env := newSDKEnv(t)
	for _, m := range env.mocks {
		m.SetFaults([]mock.Fault{{Kind: mock.FaultResetMidStream, After: 3}})
	}
	for mode, c := range env.clients(testKey) {
		t.Run(mode, func(t *testing.T) {
			stream := c.Chat.Completions.NewStreaming(context.Background(), sdkChat("gpt-4o"))
			defer stream.Close()
			chunks := 0
			for stream.Next() {
				chunks++
			}
			if stream.Err() == nil {
				t.Errorf("stream ended cleanly after %d chunks, want an error", chunks)
			}
		})
	}
}
