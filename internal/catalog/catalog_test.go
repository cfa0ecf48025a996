package catalog

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

var secret = bytes.Repeat([]byte{7}, 32)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+path, store.Options{SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func stored(id, model, endpoint string) store.Deployment {
	return store.Deployment{ID: id, Model: model, Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: endpoint, Deployment: model, APIVersion: config.DefaultAPIVersion, APIKey: "sk-up", Priority: 1, Weight: 1, Active: true, Origin: "native"}
}

func fileDeployment(id, model string) config.Deployment {
	return config.Deployment{ID: id, Model: model, Class: config.ClassChat, Provider: config.ProviderAzure,
		Endpoint: "http://127.0.0.1:1", Deployment: model, APIVersion: config.DefaultAPIVersion, Priority: 1, Weight: 1}
}

func ids(r *router.Router) []string {
	var out []string
	for _, s := range r.Status() {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

// logBuffer is a slog destination safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newRouter(t *testing.T) *router.Router {
	t.Helper()
	r, err := router.New(router.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReloadMergesFileAndStore(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	for _, d := range []store.Deployment{
		stored("stored-1", "gpt-4o", "http://127.0.0.1:2"),
		stored("file-1", "gpt-4o", "http://127.0.0.1:3"),    // id taken by the file
		stored("broken", "gpt-4o", "ftp://nowhere.example"), // cannot route
	} {
		if _, err := st.CreateDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var logs logBuffer
	r := newRouter(t)
	c := New(st, []config.Deployment{fileDeployment("file-1", "gpt-4o")}, r, slog.New(slog.NewTextHandler(&logs, nil)))
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(r), []string{"file-1", "stored-1"}; !slices.Equal(got, want) {
		t.Errorf("routed %v, want %v", got, want)
	}
	skipped := c.Skipped()
	if !strings.Contains(skipped["file-1"], "config file") || skipped["broken"] == "" {
		t.Errorf("skipped = %v, want file-1 (id taken by the file) and broken", skipped)
	}
	if !strings.Contains(logs.String(), "broken") {
		t.Errorf("log does not name the skipped deployment:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "sk-up") {
		t.Errorf("log contains an upstream key:\n%s", logs.String())
	}
}

// TestTickPropagatesBetweenReplicas: two store handles on one database
// stand for two replicas; a change made through one is routed by the other
// after exactly one tick.
func TestTickPropagatesBetweenReplicas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	stA, stB := openStore(t, path), openStore(t, path)
	rA, rB := newRouter(t), newRouter(t)
	a, b := New(stA, nil, rA, nil), New(stB, nil, rB, nil)
	for _, c := range []*Catalog{a, b} {
		if err := c.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stA.CreateDeployment(ctx, stored("new", "gpt-4o", "http://127.0.0.1:2")); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(ctx); err != nil { // what the admin API does on A
		t.Fatal(err)
	}
	if got := ids(rB); len(got) != 0 {
		t.Fatalf("B routes %v before its tick, want nothing", got)
	}
	b.Tick(ctx, false)
	if got, want := ids(rB), []string{"new"}; !slices.Equal(got, want) {
		t.Errorf("after one tick B routes %v, want %v", got, want)
	}

	if err := stA.DeleteDeployment(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	b.Tick(ctx, false)
	if got := ids(rB); len(got) != 0 {
		t.Errorf("after delete and a tick B routes %v, want nothing", got)
	}
}

func TestReloadKeepsRoutingState(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	if _, err := st.CreateDeployment(ctx, stored("a", "gpt-4o", "http://127.0.0.1:2")); err != nil {
		t.Fatal(err)
	}
	r := newRouter(t)
	c := New(st, nil, r, nil)
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := r.Pool("gpt-4o", config.ClassChat)
	if err != nil {
		t.Fatal(err)
	}
	pick, err := p.Pick(r.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Report(pick, router.Outcome{Verdict: router.RateLimited, Reason: "429"}, 0)
	if _, err := st.CreateDeployment(ctx, stored("b", "gpt-4o", "http://127.0.0.1:3")); err != nil {
		t.Fatal(err)
	}
	c.Tick(ctx, false)
	for _, s := range r.Status() {
		if s.ID == "a" && s.State != "cooling" {
			t.Errorf("a after a reload: state %s, want still cooling", s.State)
		}
	}
}

func TestStoreOutageKeepsLastGoodTable(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	if _, err := st.CreateDeployment(ctx, stored("a", "gpt-4o", "http://127.0.0.1:2")); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	r := newRouter(t)
	c := New(st, nil, r, slog.New(slog.NewTextHandler(&logs, nil)))
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close() // the store goes away
	c.Tick(ctx, true)
	c.Tick(ctx, false)
	if c.Healthy() {
		t.Errorf("Healthy() = true with the store closed")
	}
	if got := ids(r); !slices.Equal(got, []string{"a"}) {
		t.Errorf("routes %v during the outage, want the last good set [a]", got)
	}
	if n := strings.Count(logs.String(), "cannot read deployments"); n != 1 {
		t.Errorf("outage logged %d times over two ticks, want once", n)
	}
}
