package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestReadinessRedis: with Redis configured, readiness says whether it
// answers, and a Redis outage leaves the replica ready (it serves on with
// per-replica limits).
func TestReadinessRedis(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var up atomic.Bool
	now := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := admin.New(admin.Options{Store: st, Redis: up.Load, Now: clock})
	for _, tt := range []struct {
		up        bool
		advance   time.Duration
		wantRedis string
	}{
		{true, 0, "connected"},
		{false, 0, "unreachable since 2026-12-06T18:00:00Z: limits and cooldowns are per replica until it returns"},
		// Still the time it went down, not the time asked.
		{false, time.Minute, "unreachable since 2026-12-06T18:00:00Z: limits and cooldowns are per replica until it returns"},
		{true, time.Minute, "connected"},
		{false, time.Minute, "unreachable since 2026-12-06T18:03:00Z: limits and cooldowns are per replica until it returns"},
	} {
		now = now.Add(tt.advance)
		up.Store(tt.up)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/readiness", nil))
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusOK || body["status"] != "healthy" || body["redis"] != tt.wantRedis {
			t.Errorf("redis up %v: %d %v; want 200, healthy, redis %q", tt.up, rec.Code, body, tt.wantRedis)
		}
	}
}

// TestEventInfoStaticKey: a key from the config file gets an answer with
// no event and every model, not a 401.
func TestEventInfoStaticKey(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := admin.New(admin.Options{Store: st, StaticKeys: auth.NewStaticKeys([]auth.StaticKey{{Key: "sk-static", Name: "team"}})})
	for _, tt := range []struct {
		key  string
		want int
	}{
		{"sk-static", http.StatusOK},
		{"sk-other", http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/eventinfo", nil)
		req.Header.Set("api-key", tt.key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("eventinfo with %s: %d %s, want %d", tt.key, rec.Code, rec.Body, tt.want)
			continue
		}
		if tt.want == http.StatusOK {
			var body map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if body["is_authorized"] != true || body["event_id"] != "" {
				t.Errorf("eventinfo with a static key = %v, want authorized with no event", body)
			}
		}
	}
}
