package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
)

// TestRealtimeEntra: a Realtime upstream dialled with an Entra ID token;
// a deployment whose token cannot be had is skipped at connect.
func TestRealtimeEntra(t *testing.T) {
	m := mock.New(mock.Options{Name: "good", RequireKey: "entra-token-good"})
	good := httptest.NewServer(m)
	t.Cleanup(func() { m.Close(); good.Close() })
	deps := []config.Deployment{
		{ID: "bad", Model: "gpt-realtime", Class: config.ClassRealtime, Provider: config.ProviderAzure, Endpoint: good.URL, Deployment: "rt", APIVersion: config.DefaultAPIVersion, Auth: config.AuthEntra, Priority: 1},
		{ID: "good", Model: "gpt-realtime", Class: config.ClassRealtime, Provider: config.ProviderAzure, Endpoint: good.URL, Deployment: "rt", APIVersion: config.DefaultAPIVersion, Auth: config.AuthEntra, Priority: 2},
	}
	noToken := &provider.CredentialError{Deployment: "bad", Reason: "managed-identity: authentication failed (HTTP 400)", Err: errors.New("details")}
	clock := newClock()
	r, err := router.New(router.Options{Now: clock.Now, Cooldown: 30 * time.Second, Tokens: tokenSources{
		"bad":  fixedToken{err: noToken},
		"good": fixedToken{tok: "entra-token-good"},
	}}, deps)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(2*time.Second, 10*time.Second)
	t.Cleanup(tr.CloseIdleConnections)
	gw := httptest.NewServer(New(Options{Router: r, Auth: auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}), Transport: tr, Retries: 2,
		Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(gw.Close)

	c, resp, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(gw.URL, "http")+"/openai/v1/realtime?model=gpt-realtime",
		&websocket.DialOptions{HTTPHeader: http.Header{"Api-Key": {testKey}}})
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, rtBody(resp))
	}
	defer c.CloseNow()
	if got := next(t, c); got.Type != "session.created" {
		t.Fatalf("first event %s, want session.created (the upstream took the token)", got.raw)
	}
	if d, a := resp.Header.Get("X-Spillway-Deployment"), resp.Header.Get("X-Spillway-Attempts"); d != "good" || a != "2" {
		t.Errorf("session on %q after %s attempts, want good after 2", d, a)
	}
	if got := m.Requests(); got != 1 {
		t.Errorf("upstream got %d handshakes, want 1: bad's was never sent without a token", got)
	}
	c.Close(websocket.StatusNormalClosure, "")
}
