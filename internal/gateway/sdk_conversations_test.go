package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

func userMessage(text string) responses.ResponseInputItemUnionParam {
	return responses.ResponseInputItemParamOfMessage(text, responses.EasyInputMessageRoleUser)
}

func TestSDKConversations(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	for mode, a := range env.clients(0, testKey) {
		b := env.clients(1, testKey)[mode]
		other := env.clients(1, otherKey)[mode]
		t.Run(mode, func(t *testing.T) {
			var resp *http.Response
			conv, err := a.Conversations.New(ctx, conversations.ConversationNewParams{Items: []responses.ResponseInputItemUnionParam{userMessage("Hello")}}, option.WithResponseInto(&resp))
			if err != nil || !strings.HasPrefix(conv.ID, "conv_sw") {
				t.Fatalf("Conversations.New: %+v, %v; want a signed id", conv, err)
			}
			holder := resp.Header.Get("X-Spillway-Deployment")
			if got, err := b.Conversations.Get(ctx, conv.ID); err != nil || got.ID != conv.ID {
				t.Errorf("Conversations.Get on the other replica: %+v, %v", got, err)
			}
			_, err = other.Conversations.Get(ctx, conv.ID)
			wantStatus(t, "another key's conversation", err, http.StatusNotFound)

			// Every turn goes where the conversation is, from any replica.
			for _, c := range []openai.Client{a, b, a} {
				r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Tell me more")},
					Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String(conv.ID)}}, option.WithResponseInto(&resp))
				if err != nil {
					t.Fatalf("Responses.New in the conversation: %v", err)
				}
				if got := resp.Header.Get("X-Spillway-Deployment"); got != holder || r.OutputText() == "" {
					t.Errorf("turn answered by %s, want %s, the conversation's deployment", got, holder)
				}
			}
			_, err = other.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
				Conversation: responses.ResponseNewParamsConversationUnion{OfConversationObject: &responses.ResponseConversationParam{ID: conv.ID}}})
			wantStatus(t, "another key's conversation in a response", err, http.StatusNotFound)

			items, err := b.Conversations.Items.List(ctx, conv.ID, conversations.ItemListParams{Order: conversations.ItemListParamsOrderAsc, Limit: openai.Int(100)})
			if err != nil || len(items.Data) != 7 {
				t.Fatalf("Items.List: %d items, %v; want the first message and three turns", len(items.Data), err)
			}
			added, err := a.Conversations.Items.New(ctx, conv.ID, conversations.ItemNewParams{Items: []responses.ResponseInputItemUnionParam{userMessage("More")}})
			if err != nil || len(added.Data) != 1 {
				t.Fatalf("Items.New: %+v, %v", added, err)
			}
			item := added.Data[0].ID
			if got, err := b.Conversations.Items.Get(ctx, conv.ID, item, conversations.ItemGetParams{}); err != nil || got.ID != item {
				t.Errorf("Items.Get: %+v, %v", got, err)
			}
			_, err = other.Conversations.Items.Get(ctx, conv.ID, item, conversations.ItemGetParams{})
			wantStatus(t, "another key's item", err, http.StatusNotFound)
			if _, err := b.Conversations.Items.Delete(ctx, conv.ID, item); err != nil {
				t.Errorf("Items.Delete: %v", err)
			}
			if got, err := a.Conversations.Update(ctx, conv.ID, conversations.ConversationUpdateParams{Metadata: map[string]string{"topic": "dams"}}); err != nil || !strings.Contains(got.RawJSON(), `"topic":"dams"`) {
				t.Errorf("Update: %+v, %v", got, err)
			}
			if del, err := b.Conversations.Delete(ctx, conv.ID); err != nil || !del.Deleted || del.ID != conv.ID {
				t.Errorf("Delete: %+v, %v", del, err)
			}
			_, err = a.Conversations.Get(ctx, conv.ID)
			wantStatus(t, "Get after delete", err, http.StatusNotFound)
		})
	}
}
