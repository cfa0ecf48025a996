package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
)

// TestKeyringKeyByID: an Entra token mapped to a key id gets that stored
// key's principal, limits included; a revoked or expired one is refused
// as it would be by its key; static keys resolve by name.
func TestKeyringKeyByID(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	k := NewKeyring(NewStaticKeys([]StaticKey{{Key: "sk-static", Name: "team-a"}}), func() time.Time { return now })
	hash := func(s string) []byte { h := Hash(s); return h[:] }
	k.Load([]store.Key{
		{ID: "key_live", Hash: hash("sk-1"), RPM: 7, Models: []string{"gpt-4o"}},
		{ID: "key_revoked", Hash: hash("sk-2"), RevokedAt: now.Add(-time.Minute)},
		{ID: "key_expired", Hash: hash("sk-3"), ExpiresAt: now},
	}, nil)
	ctx := context.Background()
	p, err := k.KeyByID(ctx, "key_live")
	if err != nil || p.RPM != 7 || len(p.Models) != 1 {
		t.Errorf("KeyByID(key_live) = %+v, %v; want its principal with rpm 7 and one model", p, err)
	}
	var state *KeyStateError
	if _, err := k.KeyByID(ctx, "key_revoked"); !errors.As(err, &state) || !state.Revoked {
		t.Errorf("KeyByID(key_revoked) err = %v, want a revoked KeyStateError", err)
	}
	if _, err := k.KeyByID(ctx, "key_expired"); !errors.As(err, &state) || state.Revoked {
		t.Errorf("KeyByID(key_expired) err = %v, want an expired KeyStateError", err)
	}
	if p, err := k.KeyByID(ctx, "team-a"); err != nil || p.Name != "team-a" {
		t.Errorf("KeyByID(team-a) = %v, %v; want the static key", p, err)
	}
	if _, err := k.KeyByID(ctx, "key_none"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("KeyByID(key_none) err = %v, want ErrInvalidKey", err)
	}
}
