package mock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	"github.com/openai/openai-go/v3/responses"
)

// batchInput is a JSONL batch input of n chat completions.
func batchInput(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(`{"custom_id":"req-` + itoa(i) + `","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-batch","messages":[{"role":"user","content":"Say hello number ` + itoa(i) + `"}]}}` + "\n")
	}
	return b.String()
}

func TestSDKFiles(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("hello file"), "a.txt", "text/plain"), Purpose: openai.FilePurposeAssistants})
			if err != nil {
				t.Fatalf("Files.New: %v", err)
			}
			if f.Bytes != 10 || f.Filename != "a.txt" || f.Purpose != openai.FileObjectPurposeAssistants || !strings.HasPrefix(f.ID, "file-") {
				t.Errorf("file %+v, want 10 bytes, a.txt, assistants, a file- id", f)
			}
			got, err := c.Files.Get(ctx, f.ID)
			if err != nil || got.ID != f.ID {
				t.Fatalf("Files.Get: %v, %+v", err, got)
			}
			resp, err := c.Files.Content(ctx, f.ID)
			if err != nil {
				t.Fatalf("Files.Content: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "hello file" {
				t.Errorf("content: got %q, want %q", body, "hello file")
			}
			del, err := c.Files.Delete(ctx, f.ID)
			if err != nil || !del.Deleted {
				t.Fatalf("Files.Delete: %v, %+v", err, del)
			}
			_, err = c.Files.Get(ctx, f.ID)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
				t.Errorf("Files.Get after delete: got %v, want a 404", err)
			}
		})
	}
}

func TestSDKUploads(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			u, err := c.Uploads.New(ctx, openai.UploadNewParams{Bytes: 11, Filename: "b.jsonl", MimeType: "text/jsonl", Purpose: openai.FilePurposeBatch})
			if err != nil {
				t.Fatalf("Uploads.New: %v", err)
			}
			p1, err := c.Uploads.Parts.New(ctx, u.ID, openai.UploadPartNewParams{Data: strings.NewReader("hello ")})
			if err != nil {
				t.Fatalf("Parts.New: %v", err)
			}
			p2, err := c.Uploads.Parts.New(ctx, u.ID, openai.UploadPartNewParams{Data: strings.NewReader("world")})
			if err != nil {
				t.Fatalf("Parts.New: %v", err)
			}
			done, err := c.Uploads.Complete(ctx, u.ID, openai.UploadCompleteParams{PartIDs: []string{p1.ID, p2.ID}})
			if err != nil {
				t.Fatalf("Uploads.Complete: %v", err)
			}
			if done.Status != openai.UploadStatusCompleted || done.File.Bytes != 11 {
				t.Fatalf("completed upload %+v, want completed with an 11-byte file", done)
			}
			resp, err := c.Files.Content(ctx, done.File.ID)
			if err != nil {
				t.Fatalf("Files.Content: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "hello world" {
				t.Errorf("content: got %q, want the parts in order", body)
			}
			u2, _ := c.Uploads.New(ctx, openai.UploadNewParams{Bytes: 1, Filename: "c", MimeType: "text/plain", Purpose: openai.FilePurposeBatch})
			if got, err := c.Uploads.Cancel(ctx, u2.ID); err != nil || got.Status != openai.UploadStatusCancelled {
				t.Errorf("Uploads.Cancel: %v, status %q", err, got.Status)
			}
		})
	}
}

func TestSDKBatches(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{BatchPolls: 3})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			in, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(batchInput(3)), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
			if err != nil {
				t.Fatalf("Files.New: %v", err)
			}
			b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: in.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
			if err != nil {
				t.Fatalf("Batches.New: %v", err)
			}
			var statuses []string
			for range 3 {
				b, err = c.Batches.Get(ctx, b.ID)
				if err != nil {
					t.Fatalf("Batches.Get: %v", err)
				}
				statuses = append(statuses, string(b.Status))
			}
			if want := "in_progress in_progress completed"; strings.Join(statuses, " ") != want {
				t.Fatalf("statuses %v, want %s", statuses, want)
			}
			resp, err := c.Files.Content(ctx, b.OutputFileID)
			if err != nil {
				t.Fatalf("Files.Content(output): %v", err)
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			sc := bufio.NewScanner(bytes.NewReader(out))
			lines := 0
			for sc.Scan() {
				var line struct {
					CustomID string `json:"custom_id"`
					Response struct {
						StatusCode int                   `json:"status_code"`
						Body       openai.ChatCompletion `json:"body"`
					} `json:"response"`
				}
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("output line %q: %v", sc.Bytes(), err)
				}
				if line.CustomID != "req-"+itoa(lines) || line.Response.StatusCode != 200 || line.Response.Body.Usage.TotalTokens == 0 || line.Response.Body.Choices[0].Message.Content == "" {
					t.Errorf("output line %d: %+v, want its custom_id, 200, an answer and usage", lines, line)
				}
				lines++
			}
			if lines != 3 || b.RequestCounts.Completed != 3 {
				t.Errorf("got %d output lines, %d completed, want 3", lines, b.RequestCounts.Completed)
			}
			b2, _ := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: in.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
			if got, err := c.Batches.Cancel(ctx, b2.ID); err != nil || got.Status != openai.BatchStatusCancelled {
				t.Errorf("Batches.Cancel: %v, status %q", err, got.Status)
			}
		})
	}
}

func TestSDKVectorStores(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			f1, _ := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("spillways carry floods past dams"), "a.txt", "text/plain"), Purpose: openai.FilePurposeAssistants})
			f2, _ := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("fish ladders help salmon"), "b.txt", "text/plain"), Purpose: openai.FilePurposeAssistants})
			vs, err := c.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("docs"), FileIDs: []string{f1.ID}})
			if err != nil {
				t.Fatalf("VectorStores.New: %v", err)
			}
			if _, err := c.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: f2.ID}); err != nil {
				t.Fatalf("Files.New: %v", err)
			}
			page, err := c.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("salmon")}})
			if err != nil || len(page.Data) != 1 || page.Data[0].FileID != f2.ID {
				t.Fatalf("Search: %+v, %v; want the salmon file", page, err)
			}
			_, err = c.VectorStores.New(ctx, openai.VectorStoreNewParams{FileIDs: []string{"file-elsewhere"}})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
				t.Errorf("a vector store of an unknown file: %v, want 404", err)
			}
		})
	}
}

func TestSDKConversations(t *testing.T) {
	ctx := context.Background()
	_, clients := sdkClients(t, Options{})
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			conv, err := c.Conversations.New(ctx, conversations.ConversationNewParams{
				Items: []responses.ResponseInputItemUnionParam{responses.ResponseInputItemParamOfMessage("Hello", responses.EasyInputMessageRoleUser)},
			})
			if err != nil || !strings.HasPrefix(conv.ID, "conv_") {
				t.Fatalf("Conversations.New: %+v, %v", conv, err)
			}
			if _, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: sdkInput("What is a weir?"),
				Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String(conv.ID)}}); err != nil {
				t.Fatalf("Responses.New in the conversation: %v", err)
			}
			items, err := c.Conversations.Items.List(ctx, conv.ID, conversations.ItemListParams{Order: conversations.ItemListParamsOrderAsc})
			if err != nil || len(items.Data) != 3 {
				t.Fatalf("Items.List: %+v, %v; want the first message and a turn", items, err)
			}
			if items.Data[2].Role != "assistant" {
				t.Errorf("last item's role %q, want assistant", items.Data[2].Role)
			}
			added, err := c.Conversations.Items.New(ctx, conv.ID, conversations.ItemNewParams{Items: []responses.ResponseInputItemUnionParam{responses.ResponseInputItemParamOfMessage("More", responses.EasyInputMessageRoleUser)}})
			if err != nil || len(added.Data) != 1 {
				t.Fatalf("Items.New: %+v, %v", added, err)
			}
			if got, err := c.Conversations.Items.Get(ctx, conv.ID, added.Data[0].ID, conversations.ItemGetParams{}); err != nil || got.ID != added.Data[0].ID {
				t.Errorf("Items.Get: %+v, %v", got, err)
			}
			if _, err := c.Conversations.Items.Delete(ctx, conv.ID, added.Data[0].ID); err != nil {
				t.Errorf("Items.Delete: %v", err)
			}
			if del, err := c.Conversations.Delete(ctx, conv.ID); err != nil || !del.Deleted {
				t.Errorf("Conversations.Delete: %+v, %v", del, err)
			}
			_, err = c.Conversations.Get(ctx, conv.ID)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
				t.Errorf("Get after delete: %v, want 404", err)
			}
		})
	}
}
