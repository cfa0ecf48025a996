package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// openStore opens a real SQLite store in a temporary directory.
func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "spillway.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAdminTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	var a auth.AdminToken
	if a.Check("") || a.Check("anything") {
		t.Fatal("a token with no hash accepted something")
	}
	tok, err := auth.EnsureAdminToken(ctx, s, &a, store.ErrNotFound)
	if err != nil || !strings.HasPrefix(tok, "sk-admin-") {
		t.Fatalf("auth.EnsureAdminToken = %q, %v; want a generated sk-admin- token", tok, err)
	}
	stored, err := s.Setting(ctx, auth.AdminTokenSetting)
	if err != nil || strings.Contains(stored, tok) || len(stored) != 64 {
		t.Errorf("stored %q (%v), want only a 64-hex hash", stored, err)
	}
	if !a.Check(tok) || a.Check(tok+"x") || a.Check("") {
		t.Errorf("Check does not accept exactly the generated token")
	}

	// A second start finds the hash and generates nothing.
	var b auth.AdminToken
	again, err := auth.EnsureAdminToken(ctx, s, &b, store.ErrNotFound)
	if err != nil || again != "" || !b.Check(tok) {
		t.Errorf("second start: generated %q, err %v, check %v; want nothing new and the old token accepted", again, err, b.Check(tok))
	}

	rotated, err := auth.RotateAdminToken(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	stored, err = s.Setting(ctx, auth.AdminTokenSetting)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetHash(stored); err != nil {
		t.Fatal(err)
	}
	if b.Check(tok) || !b.Check(rotated) {
		t.Errorf("after rotation: old accepted %v, new accepted %v; want false, true", b.Check(tok), b.Check(rotated))
	}
	if err := b.SetHash("zz"); err == nil {
		t.Errorf("SetHash accepted a malformed hash")
	}
}

func TestStaticKeys(t *testing.T) {
	k := auth.NewStaticKeys([]auth.StaticKey{{Key: "sk-a", Name: "team-a"}, {Key: "sk-b"}})
	tests := []struct {
		key     string
		want    string
		wantErr error
	}{
		{"sk-a", "team-a", nil},
		{"sk-b", "key-2", nil},
		{"sk-c", "", auth.ErrInvalidKey},
		{"", "", auth.ErrNoKey},
	}
	for _, tt := range tests {
		p, err := k.Authenticate(context.Background(), tt.key)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Authenticate(%q) error = %v, want %v", tt.key, err, tt.wantErr)
			continue
		}
		if err == nil && p.Name != tt.want {
			t.Errorf("Authenticate(%q) = %q, want %q", tt.key, p.Name, tt.want)
		}
	}
}
