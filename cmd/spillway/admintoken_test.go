package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestAdminTokenGeneratedOnceAndRotatedEverywhere: a first start with no
// configured token generates one and logs it once; a second replica on the
// same store accepts it without logging anything new; `admin-token rotate`
// makes both accept only the new token after their next poll, made here
// by the test (refreshToken makes one every replicaPoll).
func TestAdminTokenGeneratedOnceAndRotatedEverywhere(t *testing.T) {
	ctx := context.Background()
	storeURL := "sqlite://" + filepath.Join(t.TempDir(), "spillway.db")
	start := func(logs io.Writer) (*app, *httptest.Server) {
		cfg := &config.Config{Store: storeURL}
		cfg.ApplyDefaults()
		a, err := newApp(ctx, cfg, nil, slog.New(slog.NewTextHandler(logs, nil)), nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.handler)
		t.Cleanup(func() { srv.Close(); a.close(context.Background()); a.release() })
		return a, srv
	}
	status := func(srv *httptest.Server, token string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/v1/deployments", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	var logA, logB bytes.Buffer
	a, srvA := start(&logA)
	m := regexp.MustCompile(`admin_token=(sk-admin-[0-9a-f]+)`).FindStringSubmatch(logA.String())
	if m == nil {
		t.Fatalf("first start logged no generated token:\n%s", logA.String())
	}
	first := m[1]
	b, srvB := start(&logB)
	if bytes.Contains(logB.Bytes(), []byte("sk-admin-")) {
		t.Errorf("second start logged a token again:\n%s", logB.String())
	}
	for _, srv := range []*httptest.Server{srvA, srvB} {
		if got := status(srv, first); got != http.StatusOK {
			t.Errorf("generated token: status %d, want 200", got)
		}
	}

	var out bytes.Buffer
	if code := run(ctx, []string{"admin-token", "rotate", "--store", storeURL}, &out, io.Discard); code != 0 {
		t.Fatalf("admin-token rotate exit code %d: %s", code, out.String())
	}
	rotated := regexp.MustCompile(`sk-admin-[0-9a-f]+`).FindString(out.String())
	if rotated == "" || rotated == first {
		t.Fatalf("rotate printed %q, want a new token", out.String())
	}
	entries, _, err := a.store.QueryAudit(ctx, store.AuditQuery{Resource: "settings"})
	if err != nil || len(entries) != 1 || entries[0].Action != "rotate_admin_token" || !strings.HasPrefix(entries[0].Actor, "cli:") {
		t.Errorf("audit of the rotation = %+v, %v; want one rotate_admin_token entry by cli:<user>", entries, err)
	}
	if b, _ := json.Marshal(entries); strings.Contains(string(b), rotated) || strings.Contains(string(b), first) {
		t.Errorf("the audit entry holds a token: %s", b)
	}

	for i, x := range []struct {
		app *app
		srv *httptest.Server
	}{{a, srvA}, {b, srvB}} {
		if got := status(x.srv, first); got != http.StatusOK {
			t.Errorf("replica %d before its poll: old token status %d, want 200 (the poll is what carries the rotation)", i, got)
		}
		x.app.syncToken(ctx)
		if got := status(x.srv, rotated); got != http.StatusOK {
			t.Errorf("replica %d after one poll: rotated token status %d, want 200", i, got)
		}
		if got := status(x.srv, first); got != http.StatusUnauthorized {
			t.Errorf("replica %d after one poll: old token status %d, want 401", i, got)
		}
	}
}
