package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spillwayhq/spillway/internal/store"
)

// equateEmpty lets a nil ModelInfo equal an empty one.
var equateEmpty = cmpopts.EquateEmpty()

func (s suite) createGetList(t *testing.T) {
	st := s.store(t, newKey())
	ctx := t.Context()
	in := sample("eastus-gpt4o")
	created := mustCreate(t, st, in)

	if created.CreatedAt.IsZero() || created.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want a non-zero UTC time", created.CreatedAt)
	}
	if !created.UpdatedAt.Equal(created.CreatedAt) {
		t.Errorf("UpdatedAt = %v, want CreatedAt %v", created.UpdatedAt, created.CreatedAt)
	}
	want := in
	want.CreatedAt, want.UpdatedAt = created.CreatedAt, created.UpdatedAt
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("CreateDeployment returned (-want +got):\n%s", diff)
	}

	got, err := st.GetDeployment(ctx, in.ID)
	if err != nil {
		t.Fatalf("GetDeployment: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetDeployment (-want +got):\n%s", diff)
	}

	list, err := st.ListDeployments(ctx)
	if err != nil {
		t.Fatalf("ListDeployments: %v", err)
	}
	if diff := cmp.Diff([]store.Deployment{want}, list); diff != "" {
		t.Errorf("ListDeployments (-want +got):\n%s", diff)
	}
}

func (s suite) emptyOptionalFields(t *testing.T) {
	st := s.store(t, newKey())
	in := store.Deployment{ID: "bare", Model: "gpt-4o-mini"}
	created := mustCreate(t, st, in)
	got, err := st.GetDeployment(t.Context(), in.ID)
	if err != nil {
		t.Fatalf("GetDeployment: %v", err)
	}
	if diff := cmp.Diff(created, got, equateEmpty); diff != "" {
		t.Errorf("GetDeployment (-want +got):\n%s", diff)
	}
	if got.APIKey != "" || got.Active {
		t.Errorf("APIKey, Active = %q, %v; want \"\", false", got.APIKey, got.Active)
	}
	if raw := rawKey(t, st, in.ID); raw != nil {
		t.Errorf("stored key = %q, want NULL for an empty APIKey", raw)
	}
}

func (s suite) modelInfoJSON(t *testing.T) {
	st := s.store(t, newKey())
	// Values as encoding/json decodes them: numbers come back as float64.
	info := map[string]any{
		"max_tokens":            128000.0,
		"input_cost_per_token":  2.5e-06,
		"supports_function_any": true,
		"mode":                  "chat",
		"none":                  nil,
		"regions":               []any{"eastus", "swedencentral"},
		"limits":                map[string]any{"rpm": 600.0, "nested": map[string]any{"deep": []any{1.0, "two"}}},
		"unicode":               "héllo \u2028 \"quoted\" <tag>",
	}
	d := store.Deployment{ID: "info", Model: "gpt-4o", ModelInfo: info}
	mustCreate(t, st, d)
	got, err := st.GetDeployment(t.Context(), d.ID)
	if err != nil {
		t.Fatalf("GetDeployment: %v", err)
	}
	if diff := cmp.Diff(info, got.ModelInfo); diff != "" {
		t.Errorf("ModelInfo (-want +got):\n%s", diff)
	}

	d.ID, d.ModelInfo = "bad-info", map[string]any{"f": func() {}}
	if _, err := st.CreateDeployment(t.Context(), d); err == nil {
		t.Error("CreateDeployment with a ModelInfo JSON cannot encode: got nil error")
	}
}

func (s suite) update(t *testing.T) {
	st := s.store(t, newKey())
	ctx := t.Context()
	created := mustCreate(t, st, sample("d1"))

	changed := store.Deployment{
		ID:           "d1",
		Model:        "gpt-4.1",
		Class:        "reasoning",
		Provider:     "openai",
		Endpoint:     "https://api.example.com/v1",
		ResourceName: "",
		Deployment:   "",
		APIVersion:   "",
		APIKey:       "sk-rotated-key-abcdef",
		Priority:     2,
		Weight:       1,
		RPM:          60,
		TPM:          1000,
		Active:       false,
		ModelInfo:    map[string]any{"max_tokens": 1.0},
		Origin:       "litellm",
		// Ignored: the store keeps the original.
		CreatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	updated, err := st.UpdateDeployment(ctx, changed)
	if err != nil {
		t.Fatalf("UpdateDeployment: %v", err)
	}
	if !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("CreatedAt after update = %v, want the original %v", updated.CreatedAt, created.CreatedAt)
	}
	if updated.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("UpdatedAt after update = %v, before the creation's %v", updated.UpdatedAt, created.UpdatedAt)
	}
	want := changed
	want.CreatedAt, want.UpdatedAt = created.CreatedAt, updated.UpdatedAt
	if diff := cmp.Diff(want, updated); diff != "" {
		t.Errorf("UpdateDeployment returned (-want +got):\n%s", diff)
	}
	got, err := st.GetDeployment(ctx, "d1")
	if err != nil {
		t.Fatalf("GetDeployment: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetDeployment after update (-want +got):\n%s", diff)
	}

	// Update replaces: an empty APIKey removes the stored one.
	changed.APIKey = ""
	if _, err := st.UpdateDeployment(ctx, changed); err != nil {
		t.Fatalf("UpdateDeployment without key: %v", err)
	}
	if got, err := st.GetDeployment(ctx, "d1"); err != nil || got.APIKey != "" {
		t.Errorf("GetDeployment after clearing the key = %q, %v; want \"\", nil", got.APIKey, err)
	}
	if raw := rawKey(t, st, "d1"); raw != nil {
		t.Errorf("stored key after clearing = %q, want NULL", raw)
	}
}

func (s suite) notFound(t *testing.T) {
	st := s.store(t, newKey())
	ctx := t.Context()
	if _, err := st.GetDeployment(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDeployment(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := st.UpdateDeployment(ctx, sample("missing")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateDeployment(missing) error = %v, want ErrNotFound", err)
	}
	if err := st.DeleteDeployment(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteDeployment(missing) error = %v, want ErrNotFound", err)
	}

	mustCreate(t, st, sample("gone"))
	if err := st.DeleteDeployment(ctx, "gone"); err != nil {
		t.Fatalf("DeleteDeployment: %v", err)
	}
	if _, err := st.GetDeployment(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDeployment after delete error = %v, want ErrNotFound", err)
	}
	if err := st.DeleteDeployment(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteDeployment error = %v, want ErrNotFound", err)
	}
}

func (s suite) conflict(t *testing.T) {
	st := s.store(t, newKey())
	first := mustCreate(t, st, sample("dup"))
	second := sample("dup")
	second.Model = "other"
	if _, err := st.CreateDeployment(t.Context(), second); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateDeployment(duplicate) error = %v, want ErrConflict", err)
	}
	got, err := st.GetDeployment(t.Context(), "dup")
	if err != nil {
		t.Fatalf("GetDeployment: %v", err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("duplicate create changed the original (-want +got):\n%s", diff)
	}
}

func (s suite) listOrderedByID(t *testing.T) {
	st := s.store(t, newKey())
	list, err := st.ListDeployments(t.Context())
	if err != nil || len(list) != 0 {
		t.Fatalf("ListDeployments on an empty store = %d deployments, %v; want none", len(list), err)
	}
	// Byte order, whatever the database's locale: "Z" < "_" < "a".
	ids := []string{"b", "Zeta", "a_2", "a-1", "a", "10", "9", "alpha"}
	for _, id := range ids {
		mustCreate(t, st, store.Deployment{ID: id, Model: "m"})
	}
	list, err = st.ListDeployments(t.Context())
	if err != nil {
		t.Fatalf("ListDeployments: %v", err)
	}
	var got []string
	for _, d := range list {
		got = append(got, d.ID)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(ids)), got); diff != "" {
		t.Errorf("ListDeployments ids (-want +got):\n%s", diff)
	}
}

func (s suite) settings(t *testing.T) {
	st := s.store(t, newKey())
	ctx := t.Context()
	if _, err := st.Setting(ctx, "admin_token_hash"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Setting(unset) error = %v, want ErrNotFound", err)
	}
	for _, value := range []string{"hash-1", "hash-2", ""} {
		if err := st.SetSetting(ctx, "admin_token_hash", value); err != nil {
			t.Fatalf("SetSetting(%q): %v", value, err)
		}
		got, err := st.Setting(ctx, "admin_token_hash")
		if err != nil || got != value {
			t.Errorf("Setting after SetSetting(%q) = %q, %v; want %q, nil", value, got, err, value)
		}
	}
	if err := st.SetSetting(ctx, "other", "x"); err != nil {
		t.Fatalf("SetSetting(other): %v", err)
	}
	if got, err := st.Setting(ctx, "admin_token_hash"); err != nil || got != "" {
		t.Errorf("Setting(admin_token_hash) after writing another key = %q, %v; want \"\", nil", got, err)
	}
}
