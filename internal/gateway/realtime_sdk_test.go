package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/realtime"
)

// TestRealtimeOpenAISDK drives a session through the gateway with the
// official openai-go realtime client: its handshake, its typed events
// both ways, and the error event it surfaces when the gateway closes a
// session over budget.
func TestRealtimeOpenAISDK(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	client := openai.NewClient(option.WithBaseURL(e.gws[0].URL+"/v1/"), option.WithAPIKey("sk-key-budget"), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // liveness bound
	defer cancel()
	conn, err := client.Realtime.Connect(ctx, realtime.RealtimeConnectionOptions{}, option.WithQuery("model", "gpt-realtime"))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer conn.Abort()
	recv := func(want string) realtime.RealtimeServerEventUnion {
		t.Helper()
		for {
			ev, err := conn.Recv(ctx)
			if err != nil {
				t.Fatalf("Recv (waiting for %s): %v", want, err)
			}
			if ev.Type == want {
				return ev
			}
		}
	}
	recv("session.created")
	if err := conn.SendRaw(ctx, json.RawMessage(`{"type":"session.update","session":{"type":"realtime","instructions":"Be brief.","output_modalities":["text"]}}`)); err != nil {
		t.Fatal(err)
	}
	if got := recv("session.updated").AsSessionUpdatedEvent().Session.AsRealtimeSessionCreateRequest().Instructions; got != "Be brief." {
		t.Errorf("session.updated instructions = %q, want the update's", got)
	}
	turn := func(text string) realtime.ResponseDoneEvent {
		t.Helper()
		item := `{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":` + strconvQuote(text) + `}]}}`
		if err := conn.SendRaw(ctx, json.RawMessage(item)); err != nil {
			t.Fatal(err)
		}
		if err := conn.Send(ctx, realtime.RealtimeClientEventUnionParam{OfResponseCreate: &realtime.ResponseCreateEventParam{}}); err != nil {
			t.Fatal(err)
		}
		recv("response.output_text.delta")
		return recv("response.done").AsResponseDoneEvent()
	}
	first := turn("hello there")
	u := first.Response.Usage
	if u.OutputTokens != 32 || u.TotalTokens != u.InputTokens+u.OutputTokens || u.InputTokenDetails.TextTokens == 0 {
		t.Errorf("first usage %+v, want 32 output tokens and text input", u)
	}
	turn("and again") // over the key's budget of 60 tokens
	errEv := recv("error").AsRealtimeErrorEvent()
	if errEv.Error.Code != "budget_exhausted" || errEv.Error.Message == "" {
		t.Errorf("error event %+v, want budget_exhausted with a message", errEv.Error)
	}
	if got := e.recs.wait(t, 3).Status; got != 429 {
		t.Errorf("session record status %d, want 429", got)
	}
}
