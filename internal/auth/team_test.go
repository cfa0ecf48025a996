package auth_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

func TestKeyringTeams(t *testing.T) {
	teams := []store.Team{{
		ID: "red", Name: "Red", Models: []string{"gpt-4o"}, RPM: 10, TPM: 1000,
		BudgetDaily: 5, BudgetMonthly: 50, Metadata: map[string]any{"not": "for the gateway"},
	}}
	keys := []store.Key{
		{ID: "k-red-1", Hash: hashOf("sk-red-1"), TeamID: "red"},
		{ID: "k-red-2", Hash: hashOf("sk-red-2"), TeamID: "red", RPM: 3},
		{ID: "k-none", Hash: hashOf("sk-none"), Team: "a label, not a team"},
		{ID: "k-orphan", Hash: hashOf("sk-orphan"), TeamID: "deleted"},
	}
	red := &auth.Team{ID: "red", Name: "Red", Models: []string{"gpt-4o"}, RPM: 10, TPM: 1000, BudgetDaily: 5, BudgetMonthly: 50}

	k := auth.NewKeyring(nil, nil)
	k.LoadAccess(keys, nil, teams)
	if got, want := k.Len(), 3; got != want {
		t.Errorf("Len() = %d, want %d (the key of a missing team left out)", got, want)
	}
	tests := []struct {
		key      string
		wantTeam *auth.Team
		wantErr  error
	}{
		{"sk-red-1", red, nil},
		{"sk-red-2", red, nil},
		{"sk-none", nil, nil},
		{"sk-orphan", nil, auth.ErrInvalidKey},
	}
	for _, tc := range tests {
		p, err := k.Authenticate(t.Context(), tc.key)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("Authenticate(%s) error = %v, want %v", tc.key, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if diff := cmp.Diff(tc.wantTeam, p.Team); diff != "" {
			t.Errorf("Authenticate(%s) team (-want +got):\n%s", tc.key, diff)
		}
	}
	// Both keys of a team share one *Team, so a limit keyed by its id is
	// one limit.
	p1, _ := k.Authenticate(t.Context(), "sk-red-1")
	p2, _ := k.Authenticate(t.Context(), "sk-red-2")
	if p1 == nil || p2 == nil || p1.Team != p2.Team {
		t.Errorf("keys of one team got different teams: %p, %p", teamOf(p1), teamOf(p2))
	}

	// Load, without teams, leaves the team's keys out rather than let
	// them past the team's limits.
	k.Load(keys, nil)
	if _, err := k.Authenticate(t.Context(), "sk-red-1"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("after Load without teams: Authenticate(sk-red-1) error = %v, want ErrInvalidKey", err)
	}
}

func teamOf(p *auth.Principal) *auth.Team {
	if p == nil {
		return nil
	}
	return p.Team
}
