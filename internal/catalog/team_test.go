package catalog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestReloadLoadsTeams: a reload gives a stored key its stored team, and
// a change to the team reaches the key with the next reload.
func TestReloadLoadsTeams(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	if _, err := st.CreateTeam(ctx, store.Team{ID: "red", Name: "Red", RPM: 5}); err != nil {
		t.Fatal(err)
	}
	h := auth.Hash("sk-red")
	if _, err := st.CreateKey(ctx, store.Key{ID: "k", Hash: h[:], TeamID: "red"}); err != nil {
		t.Fatal(err)
	}
	ring := auth.NewKeyring(nil, nil)
	c := New(st, nil, newRouter(t), slog.New(slog.NewTextHandler(io.Discard, nil))).WithKeyring(ring)
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := ring.Authenticate(ctx, "sk-red")
	if err != nil || p.Team == nil || p.Team.RPM != 5 {
		t.Fatalf("after reload: principal %+v, %v; want team red with rpm 5", p, err)
	}
	if _, err := st.UpdateTeam(ctx, store.Team{ID: "red", Name: "Red", RPM: 50}); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _ := ring.Authenticate(ctx, "sk-red"); p == nil || p.Team == nil || p.Team.RPM != 50 {
		t.Errorf("after the team changed: principal %+v, want rpm 50", p)
	}
	if err := st.DeleteTeam(ctx, "red"); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	p, err = ring.Authenticate(ctx, "sk-red")
	if err != nil || p.Team != nil {
		t.Errorf("after the team was deleted: principal %+v, %v; want the key, in no team", p, err)
	}
	if _, err := ring.Authenticate(ctx, "sk-other"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("unknown key: %v, want ErrInvalidKey", err)
	}
}
