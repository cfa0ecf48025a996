package mock

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
)

// azureSDKClient is the SDK configured by its azure package, the way
// Azure users configure it: the endpoint, an api-version, an api-key.
// Each request goes where the package sends it: the Azure deployment
// routes for chat, audio, speech and image edits, the /openai/...
// api-version routes for responses, models and moderations.
func azureSDKClient(ts *httptest.Server) openai.Client {
	return openai.NewClient(
		azure.WithEndpoint(ts.URL, "2025-04-01-preview"),
		azure.WithAPIKey("x"),
		azure.WithUnsafeAllowHTTP(),
		option.WithMaxRetries(0),
	)
}

// sdkClients serves one mock and returns the SDK pointed at it in every
// URL shape: OpenAI's, Azure v1's, and the azure package's.
func sdkClients(t *testing.T, opts Options) (*httptest.Server, map[string]openai.Client) {
	t.Helper()
	_, ts := newTestServer(t, opts)
	return ts, map[string]openai.Client{
		"openai":   sdkClientAt(ts.URL+"/v1", ts.Client()),
		"azure v1": sdkClientAt(ts.URL+"/openai/v1", ts.Client()),
		"azure":    azureSDKClient(ts),
	}
}

func sdkInput(s string) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

func TestSDKResponses(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			r, err := c.Responses.New(ctx, responses.ResponseNewParams{
				Model:        "gpt-4o",
				Instructions: openai.String("Be brief."),
				Input:        sdkInput("What does a spillway do?"),
			})
			if err != nil {
				t.Fatalf("Responses.New: %v", err)
			}
			if r.Status != responses.ResponseStatusCompleted || words(r.OutputText()) != DefaultAnswerTokens || r.Usage.OutputTokens != DefaultAnswerTokens || r.Usage.TotalTokens != r.Usage.InputTokens+r.Usage.OutputTokens {
				t.Errorf("status %q, text %q, usage %+v; want completed, %d words and tokens", r.Status, r.OutputText(), r.Usage, DefaultAnswerTokens)
			}
			got, err := c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
			if err != nil || got.ID != r.ID || got.OutputText() != r.OutputText() {
				t.Fatalf("Responses.Get = %v, %v; want the same response", got, err)
			}
			items, err := c.Responses.InputItems.List(ctx, r.ID, responses.InputItemListParams{})
			if err != nil || len(items.Data) != 1 || items.Data[0].Type != "message" || items.Data[0].Role != "user" || items.HasMore {
				t.Fatalf("InputItems.List = %+v, %v; want the one user message", items, err)
			}
			if err := c.Responses.Delete(ctx, r.ID); err != nil {
				t.Fatalf("Responses.Delete: %v", err)
			}
			_, err = c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
			if apiErr := (*openai.Error)(nil); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
				t.Errorf("Get after Delete: %v, want a 404", err)
			}
			n, err := c.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Model: openai.String("gpt-4o"), Input: responses.InputTokenCountParamsInputUnion{OfString: openai.String("Tell me a joke.")}})
			if err != nil || n.InputTokens <= 0 {
				t.Errorf("InputTokens.Count = %+v, %v; want a count", n, err)
			}
		})
	}
}

func TestSDKResponsesStream(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{
				Model:     "o3-mini",
				Input:     sdkInput("What does a spillway do?"),
				Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortLow, Summary: shared.ReasoningSummaryAuto},
			})
			defer stream.Close()
			var text strings.Builder
			var types []string
			var last responses.Response
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				switch ev.Type {
				case "response.output_text.delta":
					text.WriteString(ev.Delta)
				case "response.completed":
					last = ev.AsResponseCompleted().Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if types[0] != "response.created" || types[len(types)-1] != "response.completed" {
				t.Errorf("events %v, want response.created first and response.completed last", types)
			}
			if last.OutputText() != text.String() || words(text.String()) != DefaultAnswerTokens {
				t.Errorf("deltas %q, final text %q; want the same %d words", text.String(), last.OutputText(), DefaultAnswerTokens)
			}
			if r := last.Usage.OutputTokensDetails.ReasoningTokens; r == 0 || last.Output[0].Type != "reasoning" || len(last.Output[0].AsReasoning().Summary) != 1 {
				t.Errorf("reasoning tokens %d, output %+v; want a reasoning item with a summary first", r, last.Output)
			}
		})
	}
}

func TestSDKResponsesStreamBroken(t *testing.T) {
	_, clients := sdkClients(t, Options{Faults: []Fault{{Kind: FaultResetMidStream, After: 6}}})
	c := clients["openai"]
	stream := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt-4o", Input: sdkInput("Hi")})
	defer stream.Close()
	events := 0
	for stream.Next() {
		events++
	}
	if stream.Err() == nil || events != 6 {
		t.Errorf("got %d events and error %v, want 6 events then an error", events, stream.Err())
	}
}

func TestSDKResponsesBackground(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: sdkInput("Hi"), Background: openai.Bool(true)})
			if err != nil {
				t.Fatalf("Responses.New: %v", err)
			}
			statuses := []responses.ResponseStatus{r.Status}
			for r.Status != responses.ResponseStatusCompleted && len(statuses) < 5 {
				if r, err = c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{}); err != nil {
					t.Fatalf("Responses.Get: %v", err)
				}
				statuses = append(statuses, r.Status)
			}
			if got := len(statuses); got != 3 || statuses[0] != "queued" || statuses[1] != "in_progress" || words(r.OutputText()) != DefaultAnswerTokens {
				t.Errorf("statuses %v, text %q; want queued, in_progress, completed with an answer", statuses, r.OutputText())
			}
			r, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: sdkInput("Hi"), Background: openai.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if r, err = c.Responses.Cancel(ctx, r.ID); err != nil || r.Status != responses.ResponseStatusCancelled {
				t.Errorf("Cancel = %v, %v; want cancelled", r, err)
			}
		})
	}
}

func TestSDKPreviousResponse(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	_, others := sdkClients(t, Options{})
	weather := responses.ToolParamOfFunction("get_weather", map[string]any{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	}, true)
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			first, err := c.Responses.New(ctx, responses.ResponseNewParams{
				Model: "gpt-4o",
				Input: sdkInput("What's the weather in Lyon?"),
				Tools: []responses.ToolUnionParam{weather},
			})
			if err != nil {
				t.Fatalf("Responses.New: %v", err)
			}
			call := first.Output[0].AsFunctionCall()
			if first.Output[0].Type != "function_call" || call.Name != "get_weather" || call.Arguments != `{"city":"Boston, MA"}` {
				t.Fatalf("output %+v, want a call of get_weather", first.Output)
			}
			output := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temperature":4}`)
			output.OfFunctionCallOutput.CallID = openai.String(call.CallID)
			params := responses.ResponseNewParams{
				Model:              "gpt-4o",
				PreviousResponseID: openai.String(first.ID),
				Input:              responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{output}},
				Tools:              []responses.ToolUnionParam{weather},
			}
			second, err := c.Responses.New(ctx, params)
			if err != nil {
				t.Fatalf("follow-up: %v", err)
			}
			if second.OutputText() == "" || second.Usage.InputTokensDetails.CachedTokens == 0 || second.PreviousResponseID != first.ID {
				t.Errorf("follow-up: text %q, usage %+v, previous %q; want an answer with cached tokens", second.OutputText(), second.Usage, second.PreviousResponseID)
			}
			other := others[name]
			_, err = other.Responses.New(ctx, params)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "previous_response_not_found" || apiErr.Param != "previous_response_id" {
				t.Errorf("follow-up on another server: %v, want 400 previous_response_not_found", err)
			}
		})
	}
}
