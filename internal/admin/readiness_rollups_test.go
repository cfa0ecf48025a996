package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestReadinessUsageRollups: readiness says how far the roll-up of an
// upgraded database's records is, and stays ready meanwhile (reads are
// exact, only slower).
func TestReadinessUsageRollups(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		ready  bool
		detail string
	}{
		{false, "rolling up existing records in the background: 10 done, about 90 left; usage reads scan raw records until then"},
		{true, "ready"},
	} {
		h := admin.New(admin.Options{Store: st, UsageRollups: func() (bool, string) { return tc.ready, tc.detail }})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/readiness", nil))
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusOK || body["status"] != "healthy" || body["usage_rollups"] != tc.detail {
			t.Errorf("rollups ready %v: %d %v; want 200, healthy, usage_rollups %q", tc.ready, rec.Code, body, tc.detail)
		}
	}
}
