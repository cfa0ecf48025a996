package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
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
	"github.com/spillwayhq/spillway/internal/store"
)

// objectEnv is two gateway replicas sharing one SQLite registry and one
// object key, in front of two simulated resources holding gpt-4o.
type objectEnv struct {
	replicas [2]*httptest.Server
	mocks    [2]*mock.Server
	urls     [2]string
	store    store.Store
	opKey    []byte
	recs     *records
}

func objectDeployments(urls [2]string) []config.Deployment {
	var deps []config.Deployment
	for i, id := range []string{"chat-east", "chat-west"} {
		deps = append(deps, config.Deployment{ID: id, Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderAzure, Endpoint: urls[i],
			Deployment: "gpt-4o", APIVersion: config.DefaultAPIVersion, APIKey: "upstream-key", Priority: 1, Weight: 1})
	}
	// A model only the second resource serves.
	deps = append(deps, config.Deployment{ID: "mini-west", Model: "gpt-4o-mini", Class: config.ClassChat, Provider: config.ProviderAzure, Endpoint: urls[1],
		Deployment: "gpt-4o-mini", APIVersion: config.DefaultAPIVersion, APIKey: "upstream-key", Priority: 1, Weight: 1})
	return deps
}

func newObjectEnv(t *testing.T, maxFile int64) *objectEnv {
	t.Helper()
	env := &objectEnv{opKey: OperationKey([]byte("0123456789abcdef0123456789abcdef")), recs: newRecords()}
	for i := range env.mocks {
		env.mocks[i] = mock.New(mock.Options{Name: []string{"eastus", "westus"}[i], Seed: 1, BatchPolls: 2})
		srv := httptest.NewServer(env.mocks[i])
		t.Cleanup(srv.Close)
		env.urls[i] = srv.URL
	}
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "objects.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env.store = st
	for i := range env.replicas {
		env.replicas[i] = env.gateway(t, objectDeployments(env.urls), maxFile)
	}
	return env
}

// gateway is one more replica in front of deps.
func (env *objectEnv) gateway(t *testing.T, deps []config.Deployment, maxFile int64) *httptest.Server {
	t.Helper()
	r, err := router.New(router.Options{Now: newClock().Now}, deps)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	gw := httptest.NewServer(New(Options{
		Router: r, Transport: tr, Retries: 1, Recorder: env.recs, OperationKey: env.opKey, Objects: env.store, MaxFileBytes: maxFile,
		Auth:   attendeeAuth{auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "sdk"}, {Key: otherKey, Name: "other"}})},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(gw.Close)
	return gw
}

// clients returns the SDK in each mode, on replica i.
func (env *objectEnv) clients(i int, key string) map[string]openai.Client {
	gw := env.replicas[i]
	common := []option.RequestOption{option.WithMaxRetries(0), option.WithHTTPClient(gw.Client())}
	return map[string]openai.Client{
		"openai": openai.NewClient(append(common, option.WithBaseURL(gw.URL+"/v1"), option.WithAPIKey(key))...),
		"azure": openai.NewClient(append(common,
			azure.WithEndpoint(gw.URL, "2025-04-01-preview"), azure.WithAPIKey(key), azure.WithUnsafeAllowHTTP())...),
		"azure-v1": openai.NewClient(append(common, option.WithBaseURL(gw.URL+"/openai/v1"), option.WithAPIKey(key))...),
	}
}

// attendeeKey is an event attendee's key in the objects' tests: the
// keyring's principal for it, with its event and attendee.
const attendeeKey = "sk-attendee-ada"

type attendeeAuth struct{ auth.Authenticator }

func (a attendeeAuth) Authenticate(ctx context.Context, key string) (*auth.Principal, error) {
	if key == attendeeKey {
		return &auth.Principal{KeyID: "key_ada", Name: "ada", Event: &auth.Event{ID: "ev_hack", Name: "Hack day"}, Attendee: "ada@example.com"}, nil
	}
	return a.Authenticator.Authenticate(ctx, key)
}

func textFile(content, name string) io.Reader {
	return openai.File(strings.NewReader(content), name, "text/plain")
}

func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
		t.Errorf("%s: got %v, want status %d", what, err, status)
	}
}

func readContent(t *testing.T, c openai.Client, id string) string {
	t.Helper()
	resp, err := c.Files.Content(context.Background(), id)
	if err != nil {
		t.Fatalf("Files.Content(%s): %v", id, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading content: %v", err)
	}
	return string(b)
}

// TestSDKFiles uploads files through one replica, spread over two
// deployments, and reads, lists and deletes them through the other.
func TestSDKFiles(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	for mode, a := range env.clients(0, testKey) {
		b := env.clients(1, testKey)[mode]
		other := env.clients(1, otherKey)[mode]
		t.Run(mode, func(t *testing.T) {
			var ids []string
			seen := map[string]bool{}
			for i := range 4 {
				content := mode + " file " + itoa(i)
				var resp *http.Response
				f, err := a.Files.New(ctx, openai.FileNewParams{File: textFile(content, "f.txt"), Purpose: openai.FilePurposeAssistants}, option.WithResponseInto(&resp))
				if err != nil {
					t.Fatalf("Files.New: %v", err)
				}
				seen[resp.Header.Get("X-Spillway-Deployment")] = true
				if !strings.HasPrefix(f.ID, "file-sw") || f.Bytes != int64(len(content)) {
					t.Errorf("file %+v: want a signed file- id and %d bytes", f, len(content))
				}
				ids = append(ids, f.ID)
				if got := readContent(t, b, f.ID); got != content {
					t.Errorf("content via the other replica: got %q, want %q", got, content)
				}
			}
			if len(seen) != 2 {
				t.Errorf("files went to deployments %v, want both", seen)
			}
			got, err := b.Files.Get(ctx, ids[0])
			if err != nil || got.ID != ids[0] || got.Filename != "f.txt" {
				t.Errorf("Files.Get: %+v, %v", got, err)
			}
			_, err = other.Files.Get(ctx, ids[0])
			wantStatus(t, "another key's Files.Get", err, http.StatusNotFound)
			_, err = other.Files.Content(ctx, ids[0])
			wantStatus(t, "another key's Files.Content", err, http.StatusNotFound)
			_, err = other.Files.Delete(ctx, ids[0])
			wantStatus(t, "another key's Files.Delete", err, http.StatusNotFound)

			page, err := b.Files.List(ctx, openai.FileListParams{Limit: openai.Int(3), Order: openai.FileListParamsOrderAsc, Purpose: openai.String("assistants")})
			if err != nil {
				t.Fatalf("Files.List: %v", err)
			}
			var listed []string
			for _, f := range page.Data {
				listed = append(listed, f.ID)
			}
			if !page.HasMore || len(listed) != 3 {
				t.Errorf("first page: %v, has_more %v; want 3 and more", listed, page.HasMore)
			}
			iter := b.Files.ListAutoPaging(ctx, openai.FileListParams{Limit: openai.Int(3), Purpose: openai.String("assistants")})
			var all []string
			for iter.Next() {
				all = append(all, iter.Current().ID)
			}
			if err := iter.Err(); err != nil {
				t.Fatalf("ListAutoPaging: %v", err)
			}
			for _, id := range ids {
				if !slices.Contains(all, id) {
					t.Errorf("list is missing %s", id)
				}
			}
			if o, err := other.Files.List(ctx, openai.FileListParams{}); err != nil || len(o.Data) != 0 {
				t.Errorf("another key's list: %d files, %v; want none", len(o.Data), err)
			}

			del, err := b.Files.Delete(ctx, ids[0])
			if err != nil || !del.Deleted || del.ID != ids[0] {
				t.Fatalf("Files.Delete: %+v, %v", del, err)
			}
			_, err = a.Files.Get(ctx, ids[0])
			wantStatus(t, "Files.Get after delete", err, http.StatusNotFound)
			for _, id := range ids[1:] {
				if _, err := b.Files.Delete(ctx, id); err != nil {
					t.Fatalf("Files.Delete: %v", err)
				}
			}
			if l, err := a.Files.List(ctx, openai.FileListParams{}); err != nil || len(l.Data) != 0 {
				t.Errorf("list after deleting all: %d, %v; want none", len(l.Data), err)
			}
		})
	}
}

func TestSDKUploads(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	for mode, a := range env.clients(0, testKey) {
		b := env.clients(1, testKey)[mode]
		other := env.clients(0, otherKey)[mode]
		t.Run(mode, func(t *testing.T) {
			u, err := a.Uploads.New(ctx, openai.UploadNewParams{Bytes: 11, Filename: "big.jsonl", MimeType: "text/jsonl", Purpose: openai.FilePurposeBatch})
			if err != nil {
				t.Fatalf("Uploads.New: %v", err)
			}
			_, err = other.Uploads.Parts.New(ctx, u.ID, openai.UploadPartNewParams{Data: strings.NewReader("x")})
			wantStatus(t, "another key's part", err, http.StatusNotFound)
			p1, err := b.Uploads.Parts.New(ctx, u.ID, openai.UploadPartNewParams{Data: strings.NewReader("hello ")})
			if err != nil {
				t.Fatalf("Parts.New: %v", err)
			}
			p2, err := a.Uploads.Parts.New(ctx, u.ID, openai.UploadPartNewParams{Data: strings.NewReader("world")})
			if err != nil {
				t.Fatalf("Parts.New: %v", err)
			}
			if p1.UploadID != u.ID {
				t.Errorf("part's upload_id %q, want %q", p1.UploadID, u.ID)
			}
			done, err := b.Uploads.Complete(ctx, u.ID, openai.UploadCompleteParams{PartIDs: []string{p1.ID, p2.ID}})
			if err != nil {
				t.Fatalf("Uploads.Complete: %v", err)
			}
			if done.Status != openai.UploadStatusCompleted || !strings.HasPrefix(done.File.ID, "file-sw") {
				t.Fatalf("completed upload %+v, want completed with a signed file id", done)
			}
			if got := readContent(t, a, done.File.ID); got != "hello world" {
				t.Errorf("content: got %q, want the parts in order", got)
			}
			l, err := a.Files.List(ctx, openai.FileListParams{Purpose: openai.String("batch")})
			if err != nil || len(l.Data) != 1 || l.Data[0].ID != done.File.ID {
				t.Errorf("list of batch files: %+v, %v; want the upload's file", l.Data, err)
			}
			_, _ = a.Files.Delete(ctx, done.File.ID)
			u2, err := a.Uploads.New(ctx, openai.UploadNewParams{Bytes: 1, Filename: "c", MimeType: "text/plain", Purpose: openai.FilePurposeBatch})
			if err != nil {
				t.Fatalf("Uploads.New: %v", err)
			}
			if got, err := b.Uploads.Cancel(ctx, u2.ID); err != nil || got.Status != openai.UploadStatusCancelled {
				t.Errorf("Uploads.Cancel: %v, %+v", err, got)
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

// batchLines is a JSONL batch input of n chat completions.
func batchLines(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(`{"custom_id":"req-` + itoa(i) + `","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello number ` + itoa(i) + `"}]}}` + "\n")
	}
	return b.String()
}

func TestSDKBatches(t *testing.T) {
	ctx := context.Background()
	env := newObjectEnv(t, 0)
	for mode, a := range env.clients(0, testKey) {
		b := env.clients(1, testKey)[mode]
		other := env.clients(1, otherKey)[mode]
		t.Run(mode, func(t *testing.T) {
			in, err := a.Files.New(ctx, openai.FileNewParams{File: textFile(batchLines(3), "in.jsonl"), Purpose: openai.FilePurposeBatch})
			if err != nil {
				t.Fatalf("Files.New: %v", err)
			}
			params := openai.BatchNewParams{InputFileID: in.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h}
			_, err = other.Batches.New(ctx, params)
			wantStatus(t, "a batch of another key's file", err, http.StatusNotFound)
			batch, err := b.Batches.New(ctx, params)
			if err != nil {
				t.Fatalf("Batches.New: %v", err)
			}
			if batch.InputFileID != in.ID || !strings.HasPrefix(batch.ID, "batch_sw") {
				t.Errorf("batch %+v: want the input file's id and a signed batch id", batch)
			}
			_, err = other.Batches.Get(ctx, batch.ID)
			wantStatus(t, "another key's Batches.Get", err, http.StatusNotFound)
			for batch.Status != openai.BatchStatusCompleted {
				if batch, err = a.Batches.Get(ctx, batch.ID); err != nil {
					t.Fatalf("Batches.Get: %v", err)
				}
				if batch.Status == openai.BatchStatusFailed {
					t.Fatalf("batch failed: %+v", batch)
				}
			}
			out := readContent(t, b, batch.OutputFileID)
			if n := strings.Count(out, "\n"); n != 3 || !strings.Contains(out, `"usage"`) {
				t.Errorf("output file: %d lines %q, want 3 with usage", n, out)
			}
			_, err = other.Files.Content(ctx, batch.OutputFileID)
			wantStatus(t, "another key's output file", err, http.StatusNotFound)

			second, err := a.Batches.New(ctx, params)
			if err != nil {
				t.Fatalf("Batches.New: %v", err)
			}
			if got, err := b.Batches.Cancel(ctx, second.ID); err != nil || got.Status != openai.BatchStatusCancelled {
				t.Errorf("Batches.Cancel: %v, %+v", err, got.Status)
			}
			l, err := b.Batches.List(ctx, openai.BatchListParams{Limit: openai.Int(1)})
			if err != nil || len(l.Data) != 1 || !l.HasMore {
				t.Fatalf("Batches.List limit 1: %+v, %v; want one and more", l, err)
			}
			if l.Data[0].ID != second.ID || l.Data[0].Status != openai.BatchStatusCancelled {
				t.Errorf("newest batch listed %s %s, want %s cancelled", l.Data[0].ID, l.Data[0].Status, second.ID)
			}
			if o, err := other.Batches.List(ctx, openai.BatchListParams{}); err != nil || len(o.Data) != 0 {
				t.Errorf("another key's batches: %d, %v; want none", len(o.Data), err)
			}
		})
	}
}
