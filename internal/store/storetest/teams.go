package storetest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spillwayhq/spillway/internal/store"
)

// sampleTeam is a team with every field set.
func sampleTeam(id string) store.Team {
	return store.Team{
		ID:            id,
		Name:          "Team " + id,
		Models:        []string{"gpt-4o", "gpt-4o-mini"},
		RPM:           120,
		TPM:           200_000,
		BudgetDaily:   25.5,
		BudgetMonthly: 400,
		MaxParallel:   8,
		Metadata:      map[string]any{"cost_center": "cc-7", "seats": 12.0},
	}
}

func mustCreateTeam(t *testing.T, st store.Store, tm store.Team) store.Team {
	t.Helper()
	got, err := st.CreateTeam(t.Context(), tm)
	if err != nil {
		t.Fatalf("CreateTeam(%q): %v", tm.ID, err)
	}
	return got
}

// teamsRoundTrip stores teams, reads them back, lists them in id order
// and replaces one.
func (s suite) teamsRoundTrip(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	in := sampleTeam("t2")
	created := mustCreateTeam(t, st, in)
	if created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Errorf("created at %v, updated at %v; want both set and equal", created.CreatedAt, created.UpdatedAt)
	}
	checkUTC(t, "CreateTeam", created.CreatedAt)
	want := in
	want.CreatedAt, want.UpdatedAt = created.CreatedAt, created.UpdatedAt
	got, err := st.GetTeam(ctx, "t2")
	if err != nil {
		t.Fatalf("GetTeam: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetTeam (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("CreateTeam returned (-want +got):\n%s", diff)
	}

	// A zero team comes back with nil lists and maps.
	bare := mustCreateTeam(t, st, store.Team{ID: "t1", Models: []string{}, Metadata: map[string]any{}})
	if bare.Models != nil || bare.Metadata != nil {
		t.Errorf("zero team = models %#v, metadata %#v; want nil, nil", bare.Models, bare.Metadata)
	}
	list, err := st.ListTeams(ctx)
	if err != nil {
		t.Fatalf("ListTeams: %v", err)
	}
	var ids []string
	for _, tm := range list {
		ids = append(ids, tm.ID)
	}
	if diff := cmp.Diff([]string{"t1", "t2"}, ids); diff != "" {
		t.Errorf("ListTeams ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bare, list[0]); diff != "" {
		t.Errorf("ListTeams zero team (-want +got):\n%s", diff)
	}

	changed := got
	changed.Name, changed.Models, changed.RPM, changed.TPM = "renamed", nil, 0, 5
	changed.BudgetDaily, changed.BudgetMonthly, changed.Metadata = 0, 1.25, nil
	changed.MaxParallel = 3
	updated, err := st.UpdateTeam(ctx, changed)
	if err != nil {
		t.Fatalf("UpdateTeam: %v", err)
	}
	if !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("UpdateTeam created at %v, want %v kept", updated.CreatedAt, created.CreatedAt)
	}
	again, err := st.GetTeam(ctx, "t2")
	if err != nil {
		t.Fatalf("GetTeam after update: %v", err)
	}
	if diff := cmp.Diff(updated, again); diff != "" {
		t.Errorf("GetTeam after update (-UpdateTeam +GetTeam):\n%s", diff)
	}
	if again.Name != "renamed" || again.TPM != 5 || again.BudgetMonthly != 1.25 || again.Models != nil || again.MaxParallel != 3 {
		t.Errorf("after update = %+v; want the new name, tpm, monthly budget, max_parallel_requests and no models", again)
	}
}

// teamsErrors checks the sentinels and refusals of every team method.
func (s suite) teamsErrors(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	mustCreateTeam(t, st, store.Team{ID: "t"})
	mustCreateKey(t, st, store.Key{ID: "k", Hash: hashOf("k")})

	tests := []struct {
		name string
		call func() error
		want error // nil: any error
	}{
		{"CreateTeam taken", func() error { _, err := st.CreateTeam(ctx, store.Team{ID: "t"}); return err }, store.ErrConflict},
		{"CreateTeam empty id", func() error { _, err := st.CreateTeam(ctx, store.Team{}); return err }, nil},
		{"CreateTeam negative budget", func() error {
			_, err := st.CreateTeam(ctx, store.Team{ID: "n", BudgetDaily: -1})
			return err
		}, nil},
		{"CreateTeam negative max_parallel_requests", func() error {
			_, err := st.CreateTeam(ctx, store.Team{ID: "p", MaxParallel: -1})
			return err
		}, nil},
		{"UpdateTeam NaN budget", func() error {
			_, err := st.UpdateTeam(ctx, store.Team{ID: "t", BudgetMonthly: math.NaN()})
			return err
		}, nil},
		{"CreateTeam unencodable metadata", func() error {
			_, err := st.CreateTeam(ctx, store.Team{ID: "m", Metadata: map[string]any{"f": func() {}}})
			return err
		}, nil},
		{"GetTeam missing", func() error { _, err := st.GetTeam(ctx, "missing"); return err }, store.ErrNotFound},
		{"UpdateTeam missing", func() error { _, err := st.UpdateTeam(ctx, store.Team{ID: "missing"}); return err }, store.ErrNotFound},
		{"DeleteTeam missing", func() error { return st.DeleteTeam(ctx, "missing") }, store.ErrNotFound},
		{"SetKeyTeam missing team", func() error { _, err := st.SetKeyTeam(ctx, "k", "missing"); return err }, store.ErrNotFound},
		{"SetKeyTeam missing key", func() error { _, err := st.SetKeyTeam(ctx, "missing", "t"); return err }, store.ErrNotFound},
		{"CreateKey in a missing team", func() error {
			_, err := st.CreateKey(ctx, store.Key{ID: "new", Hash: hashOf("new"), TeamID: "missing"})
			return err
		}, store.ErrNotFound},
		{"UpdateKey into a missing team", func() error {
			_, err := st.UpdateKey(ctx, store.Key{ID: "k", Hash: hashOf("k"), TeamID: "missing"})
			return err
		}, store.ErrNotFound},
		{"ListKeys by event and team", func() error {
			_, err := st.ListKeys(ctx, store.KeyFilter{EventID: "ev", TeamID: "t"})
			return err
		}, nil},
	}
	for _, tc := range tests {
		err := tc.call()
		switch {
		case err == nil:
			t.Errorf("%s: got nil error", tc.name)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: error = %v, want %v", tc.name, err, tc.want)
		}
	}
	teams, err := st.ListTeams(ctx)
	if err != nil || len(teams) != 1 {
		t.Errorf("ListTeams after refused writes = %d teams, %v; want only t", len(teams), err)
	}
	if k, err := st.GetKey(ctx, "k"); err != nil || k.TeamID != "" {
		t.Errorf("key after refused SetKeyTeam and UpdateKey = team %q, %v; want none", k.TeamID, err)
	}
	if _, err := st.GetKey(ctx, "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key created in a missing team: GetKey error = %v, want ErrNotFound (not stored)", err)
	}
}

// teamKeys puts keys in teams and takes them out; ListKeys by team sees
// it, and so does another handle on the same database.
func (s suite) teamKeys(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	mustCreateTeam(t, st, store.Team{ID: "red"})
	mustCreateTeam(t, st, store.Team{ID: "blue"})
	for _, id := range []string{"k3", "k1", "k2"} {
		mustCreateKey(t, st, store.Key{ID: id, Hash: hashOf(id)})
	}
	withTeam := store.Key{ID: "k0", Hash: hashOf("k0"), TeamID: "blue"}
	mustCreateKey(t, st, withTeam)

	rev := revision(t, st)
	for _, id := range []string{"k3", "k1"} {
		k, err := st.SetKeyTeam(ctx, id, "red")
		if err != nil {
			t.Fatalf("SetKeyTeam(%q, red): %v", id, err)
		}
		if k.TeamID != "red" || k.ID != id {
			t.Errorf("SetKeyTeam(%q, red) = key %q in team %q", id, k.ID, k.TeamID)
		}
	}
	if got := revision(t, st); got <= rev {
		t.Errorf("revision after SetKeyTeam = %d, want above %d", got, rev)
	}
	other := s.store(t, nil)
	for _, tc := range []struct {
		team string
		want []string
	}{{"red", []string{"k1", "k3"}}, {"blue", []string{"k0"}}, {"none", nil}} {
		got := keyIDs(mustListKeys(t, other, store.KeyFilter{TeamID: tc.team}))
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListKeys(team %s) (-want +got):\n%s", tc.team, diff)
		}
	}

	// Moving a key between teams and out of any.
	if _, err := st.SetKeyTeam(ctx, "k1", "blue"); err != nil {
		t.Fatalf("SetKeyTeam(k1, blue): %v", err)
	}
	if _, err := st.SetKeyTeam(ctx, "k3", ""); err != nil {
		t.Fatalf("SetKeyTeam(k3, none): %v", err)
	}
	if diff := cmp.Diff([]string{"k0", "k1"}, keyIDs(mustListKeys(t, st, store.KeyFilter{TeamID: "blue"}))); diff != "" {
		t.Errorf("blue after moves (-want +got):\n%s", diff)
	}
	if got := mustListKeys(t, st, store.KeyFilter{TeamID: "red"}); len(got) != 0 {
		t.Errorf("red after moves = %v, want none", keyIDs(got))
	}
	if k, _ := st.GetKey(ctx, "k3"); k.TeamID != "" {
		t.Errorf("k3 team = %q, want none", k.TeamID)
	}
}

// deleteTeam removes a team and takes its keys out of it, leaving the
// keys and the other teams' keys as they were.
func (s suite) deleteTeam(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	mustCreateTeam(t, st, store.Team{ID: "gone"})
	mustCreateTeam(t, st, store.Team{ID: "kept"})
	mustCreateKey(t, st, store.Key{ID: "a", Hash: hashOf("a"), TeamID: "gone"})
	mustCreateKey(t, st, store.Key{ID: "b", Hash: hashOf("b"), TeamID: "kept"})
	mustCreateKey(t, st, store.Key{ID: "c", Hash: hashOf("c")})

	rev := revision(t, st)
	if err := st.DeleteTeam(ctx, "gone"); err != nil {
		t.Fatalf("DeleteTeam: %v", err)
	}
	if got := revision(t, st); got <= rev {
		t.Errorf("revision after DeleteTeam = %d, want above %d", got, rev)
	}
	if _, err := st.GetTeam(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTeam after delete: error = %v, want ErrNotFound", err)
	}
	got := map[string]string{}
	for _, k := range mustListKeys(t, st, store.KeyFilter{}) {
		got[k.ID] = k.TeamID
	}
	if diff := cmp.Diff(map[string]string{"a": "", "b": "kept", "c": ""}, got); diff != "" {
		t.Errorf("keys' teams after DeleteTeam (-want +got):\n%s", diff)
	}
}

// teamKeysRace moves keys into a team, and creates keys in it, while the
// team is deleted: every key ends up out of any team (it joined before the
// delete, which took it out, or its join was refused), never in a team
// that is gone.
func (s suite) teamKeysRace(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	const keys = 8
	for i := range keys {
		id := fmt.Sprintf("k%d", i)
		mustCreateKey(t, st, store.Key{ID: id, Hash: hashOf(id)})
	}
	for round := range 5 {
		team := fmt.Sprintf("t%d", round)
		mustCreateTeam(t, st, store.Team{ID: team})
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				_, err := st.SetKeyTeam(ctx, fmt.Sprintf("k%d", i), team)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("SetKeyTeam: %v", err)
				}
			})
		}
		for i := range keys {
			wg.Go(func() {
				id := fmt.Sprintf("new-%d-%d", round, i)
				_, err := st.CreateKey(ctx, store.Key{ID: id, Hash: hashOf(id), TeamID: team})
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("CreateKey: %v", err)
				}
			})
		}
		wg.Go(func() {
			if err := st.DeleteTeam(ctx, team); err != nil {
				t.Errorf("DeleteTeam: %v", err)
			}
		})
		wg.Wait()
		for _, k := range mustListKeys(t, st, store.KeyFilter{}) {
			if k.TeamID != "" {
				t.Errorf("round %d: key %s is in team %q, which was deleted", round, k.ID, k.TeamID)
			}
		}
	}
}
