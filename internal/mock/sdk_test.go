package mock

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// These tests hold the mock to the real client: the official openai-go SDK
// must parse every answer, in both URL shapes.

func sdkClient(t *testing.T, opts Options) openai.Client {
	t.Helper()
	_, ts := newTestServer(t, opts)
	return sdkClientAt(ts.URL+"/v1", ts.Client())
}

// azureClient talks to the Azure deployment routes the way the SDK's azure
// package does (which would pull the Azure SDK into go.mod): the
// deployment in the path, api-version in the query, an api-key header.
// The deployment is named after the model, so answers name it either way.
func azureClient(t *testing.T, opts Options, deployment string) openai.Client {
	t.Helper()
	_, ts := newTestServer(t, opts)
	return openai.NewClient(
		option.WithBaseURL(ts.URL+"/openai/deployments/"+deployment),
		option.WithQuery("api-version", "2024-10-21"),
		option.WithHeader("api-key", "x"),
		option.WithHTTPClient(ts.Client()),
		option.WithMaxRetries(0),
	)
}

// azureV1Client talks to the Azure v1 routes: model in the body.
func azureV1Client(t *testing.T, opts Options) openai.Client {
	t.Helper()
	_, ts := newTestServer(t, opts)
	return sdkClientAt(ts.URL+"/openai/v1", ts.Client())
}

func sdkClientAt(base string, hc *http.Client) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(base),
		option.WithAPIKey("x"),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
	)
}

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."),
			openai.UserMessage("What does a spillway do?"),
		},
		MaxCompletionTokens: openai.Int(12),
	}
}

func TestSDKChat(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]openai.Client{
		"openai":   sdkClient(t, Options{Name: "sdk"}),
		"azure":    azureClient(t, Options{Name: "sdk"}, "gpt-4o"),
		"azure v1": azureV1Client(t, Options{Name: "sdk"}),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := c.Chat.Completions.New(ctx, chatParams("gpt-4o"))
			if err != nil {
				t.Fatalf("Chat.Completions.New: %v", err)
			}
			if !strings.Contains(got.ID, "sdk") || got.Model != "gpt-4o" || len(got.Choices) != 1 {
				t.Fatalf("got id %q model %q with %d choices; want the mock's name in the id, gpt-4o, 1 choice", got.ID, got.Model, len(got.Choices))
			}
			ch := got.Choices[0]
			if words(ch.Message.Content) != 12 || ch.FinishReason != "length" || got.Usage.CompletionTokens != 12 || got.Usage.TotalTokens != got.Usage.PromptTokens+12 {
				t.Errorf("choice %q finish %q usage %+v; want 12 words, length, 12 completion tokens", ch.Message.Content, ch.FinishReason, got.Usage)
			}
		})
	}
}

func TestSDKStream(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]openai.Client{
		"openai":   sdkClient(t, Options{}),
		"azure":    azureClient(t, Options{}, "gpt-4o"),
		"azure v1": azureV1Client(t, Options{}),
	} {
		t.Run(name, func(t *testing.T) {
			params := chatParams("gpt-4o")
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := c.Chat.Completions.NewStreaming(ctx, params)
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
			if got, want := chunks, 1+12+1+1; got != want {
				t.Errorf("got %d chunks, want %d (role, 12 tokens, finish, usage)", got, want)
			}
			if len(acc.Choices) != 1 || words(acc.Choices[0].Message.Content) != 12 || acc.Choices[0].FinishReason != "length" {
				t.Errorf("accumulated %+v, want one 12-word choice cut by length", acc.Choices)
			}
			if acc.Usage.CompletionTokens != 12 {
				t.Errorf("usage = %+v, want 12 completion tokens", acc.Usage)
			}
		})
	}
}

func TestSDKStreamBroken(t *testing.T) {
	c := sdkClient(t, Options{Faults: []Fault{{Kind: FaultResetMidStream, After: 4}}})
	stream := c.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))
	defer stream.Close()
	chunks := 0
	for stream.Next() {
		chunks++
	}
	if stream.Err() == nil || chunks != 4 {
		t.Errorf("got %d chunks and error %v, want 4 chunks then an error", chunks, stream.Err())
	}
}

func TestSDKEmbeddings(t *testing.T) {
	ctx := context.Background()
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{"", openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		for name, c := range map[string]openai.Client{
			"openai":   sdkClient(t, Options{}),
			"azure":    azureClient(t, Options{}, "text-embedding-3-small"),
			"azure v1": azureV1Client(t, Options{}),
		} {
			t.Run(name+"/"+string(format), func(t *testing.T) {
				got, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
					Model:          "text-embedding-3-small",
					Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one", "two"}},
					Dimensions:     openai.Int(64),
					EncodingFormat: format,
				})
				if err != nil {
					t.Fatalf("Embeddings.New: %v", err)
				}
				if len(got.Data) != 2 {
					t.Fatalf("got %d embeddings, want 2", len(got.Data))
				}
				for i, d := range got.Data {
					if len(d.Embedding) != 64 || d.Index != int64(i) {
						t.Errorf("data[%d]: index %d, %d dimensions; want %d, 64", i, d.Index, len(d.Embedding), i)
					}
				}
			})
		}
	}
}

func TestSDKImages(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]openai.Client{
		"openai":   sdkClient(t, Options{}),
		"azure":    azureClient(t, Options{}, "dall-e-3"),
		"azure v1": azureV1Client(t, Options{}),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := c.Images.Generate(ctx, openai.ImageGenerateParams{
				Model:          openai.ImageModel("dall-e-3"),
				Prompt:         "a spillway at dawn",
				N:              openai.Int(2),
				ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON,
			})
			if err != nil {
				t.Fatalf("Images.Generate: %v", err)
			}
			if len(got.Data) != 2 || got.Data[0].B64JSON == "" || got.Data[0].RevisedPrompt == "" {
				t.Errorf("got %+v, want 2 b64_json images with revised prompts", got.Data)
			}
		})
	}
}

func TestSDKSeesFaults(t *testing.T) {
	c := sdkClient(t, Options{Faults: []Fault{{Kind: FaultStatus, Status: 429, RetryAfter: 3e9}}})
	_, err := c.Chat.Completions.New(context.Background(), chatParams("gpt-4o"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want an *openai.Error", err)
	}
	if apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "429" || !strings.Contains(apiErr.Message, "retry after 3 seconds") {
		t.Errorf("error = status %d code %q message %q; want Azure's 429", apiErr.StatusCode, apiErr.Code, apiErr.Message)
	}
}
