package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

// fileOn uploads content until it lands on deployment want, and returns
// its id.
func fileOn(t *testing.T, c openai.Client, want, content string) string {
	t.Helper()
	for range 6 {
		var resp *http.Response
		f, err := c.Files.New(context.Background(), openai.FileNewParams{File: textFile(content, "doc.txt"), Purpose: openai.FilePurposeAssistants}, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatalf("Files.New: %v", err)
		}
		if resp.Header.Get("X-Spillway-Deployment") == want {
			return f.ID
		}
	}
	t.Fatalf("no upload landed on %s", want)
	return ""
}

func TestSDKVectorStores(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	for mode, a := range env.clients(0, testKey) {
		b := env.clients(1, testKey)[mode]
		other := env.clients(1, otherKey)[mode]
		t.Run(mode, func(t *testing.T) {
			east1 := fileOn(t, a, "chat-east", "spillways carry floods past dams")
			east2 := fileOn(t, a, "chat-east", "fish ladders help salmon upstream")
			east3 := fileOn(t, a, "chat-east", "gates hold the reservoir")
			west := fileOn(t, a, "chat-west", "turbines make power")

			var resp *http.Response
			vs, err := a.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("docs"), FileIDs: []string{east1}}, option.WithResponseInto(&resp))
			if err != nil {
				t.Fatalf("VectorStores.New: %v", err)
			}
			if got := resp.Header.Get("X-Spillway-Deployment"); got != "chat-east" || !strings.HasPrefix(vs.ID, "vs_sw") {
				t.Errorf("vector store %s on %s, want a signed id on chat-east, where its file is", vs.ID, got)
			}
			_, err = b.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: west})
			wantStatus(t, "a file of another deployment", err, http.StatusBadRequest)
			_, err = other.VectorStores.Get(ctx, vs.ID)
			wantStatus(t, "another key's vector store", err, http.StatusNotFound)
			_, err = other.VectorStores.New(ctx, openai.VectorStoreNewParams{FileIDs: []string{east1}})
			wantStatus(t, "a vector store of another key's file", err, http.StatusNotFound)

			vf, err := b.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: east2})
			if err != nil || vf.ID != east2 || vf.VectorStoreID != vs.ID {
				t.Fatalf("Files.New: %+v, %v; want the file's and the store's ids as the client knows them", vf, err)
			}
			batch, err := a.VectorStores.FileBatches.New(ctx, vs.ID, openai.VectorStoreFileBatchNewParams{FileIDs: []string{east3}})
			if err != nil {
				t.Fatalf("FileBatches.New: %v", err)
			}
			if got, err := b.VectorStores.FileBatches.Get(ctx, vs.ID, batch.ID); err != nil || got.Status != openai.VectorStoreFileBatchStatusCompleted {
				t.Errorf("FileBatches.Get: %+v, %v", got, err)
			}
			bf, err := b.VectorStores.FileBatches.ListFiles(ctx, vs.ID, batch.ID, openai.VectorStoreFileBatchListFilesParams{})
			if err != nil || len(bf.Data) != 1 || bf.Data[0].ID != east3 {
				t.Errorf("FileBatches.ListFiles: %+v, %v; want %s", bf, err, east3)
			}
			files, err := b.VectorStores.Files.List(ctx, vs.ID, openai.VectorStoreFileListParams{})
			if err != nil || len(files.Data) != 3 {
				t.Errorf("Files.List: %+v, %v; want 3 files", files, err)
			}
			page, err := b.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("salmon")}})
			if err != nil || len(page.Data) != 1 || page.Data[0].FileID != east2 {
				t.Errorf("Search: %+v, %v; want the salmon file by its gateway id", page, err)
			}
			if got, err := b.VectorStores.Files.Get(ctx, vs.ID, east2); err != nil || got.ID != east2 {
				t.Errorf("Files.Get: %+v, %v", got, err)
			}
			if c, err := a.VectorStores.Files.Content(ctx, vs.ID, east2); err != nil || len(c.Data) != 1 || !strings.Contains(c.Data[0].Text, "salmon") {
				t.Errorf("Files.Content: %+v, %v; want the file's text", c, err)
			}
			if got, err := a.VectorStores.FileBatches.Cancel(ctx, vs.ID, batch.ID); err != nil || got.ID != batch.ID {
				t.Errorf("FileBatches.Cancel: %+v, %v", got, err)
			}
			if got, err := b.VectorStores.Get(ctx, vs.ID); err != nil || got.ID != vs.ID || got.FileCounts.Total != 3 {
				t.Errorf("VectorStores.Get: %+v, %v; want it with 3 files", got, err)
			}
			if del, err := a.VectorStores.Files.Delete(ctx, vs.ID, east2); err != nil || !del.Deleted {
				t.Errorf("Files.Delete: %+v, %v", del, err)
			}
			if _, err := a.Files.Get(ctx, east2); err != nil {
				t.Errorf("the file itself after leaving the store: %v", err)
			}

			// file_search goes where the vector store is.
			tool := responses.ToolUnionParam{OfFileSearch: &responses.FileSearchToolParam{VectorStoreIDs: []string{vs.ID}}}
			r, err := b.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What do spillways do?")},
				Tools: []responses.ToolUnionParam{tool}}, option.WithResponseInto(&resp))
			if err != nil {
				t.Fatalf("Responses.New with file_search: %v", err)
			}
			if got := resp.Header.Get("X-Spillway-Deployment"); got != "chat-east" || r.OutputText() == "" {
				t.Errorf("file_search answered by %s with %q, want chat-east and text", got, r.OutputText())
			}
			_, err = b.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
				Tools: []responses.ToolUnionParam{tool}})
			wantStatus(t, "file_search with a model whose pool lacks the store", err, http.StatusBadRequest)
			_, err = other.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
				Tools: []responses.ToolUnionParam{tool}})
			wantStatus(t, "file_search on another key's store", err, http.StatusNotFound)

			l, err := b.VectorStores.List(ctx, openai.VectorStoreListParams{})
			if err != nil || len(l.Data) == 0 || l.Data[0].ID != vs.ID {
				t.Errorf("VectorStores.List: %+v, %v; want this store first", l, err)
			}
			if o, err := other.VectorStores.List(ctx, openai.VectorStoreListParams{}); err != nil || len(o.Data) != 0 {
				t.Errorf("another key's list: %d, %v; want none", len(o.Data), err)
			}
			if got, err := a.VectorStores.Update(ctx, vs.ID, openai.VectorStoreUpdateParams{Name: openai.String("renamed")}); err != nil || got.Name != "renamed" {
				t.Errorf("Update: %+v, %v", got, err)
			}
			if del, err := b.VectorStores.Delete(ctx, vs.ID); err != nil || !del.Deleted {
				t.Fatalf("Delete: %+v, %v", del, err)
			}
			if l, err := a.VectorStores.List(ctx, openai.VectorStoreListParams{}); err != nil || len(l.Data) != 0 {
				t.Errorf("list after delete: %d, %v; want none", len(l.Data), err)
			}
		})
	}
}
