package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
)

// adminTokens: minted tokens are found by hash, listed, revoked once, and
// a taken hash or a malformed one is refused.
func (s suite) adminTokens(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	tok, err := st.CreateAdminToken(ctx, store.AdminToken{ID: "at_1", Name: "ci", Role: "operator", Hash: hashOf("one"), Prefix: "sk-adm-ab", CreatedBy: "admin-token", ExpiresAt: exp})
	if err != nil {
		t.Fatalf("CreateAdminToken: %v", err)
	}
	got, err := st.AdminTokenByHash(ctx, hashOf("one"))
	if err != nil {
		t.Fatalf("AdminTokenByHash: %v", err)
	}
	if got.ID != "at_1" || got.Role != "operator" || got.Name != "ci" || got.CreatedBy != "admin-token" || !got.ExpiresAt.Equal(exp) || !got.RevokedAt.IsZero() || !got.CreatedAt.Equal(tok.CreatedAt) {
		t.Errorf("AdminTokenByHash = %+v, want the token as created %+v", got, tok)
	}
	if _, err := st.AdminTokenByHash(ctx, hashOf("other")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AdminTokenByHash(unknown) err = %v, want ErrNotFound", err)
	}
	if _, err := st.CreateAdminToken(ctx, store.AdminToken{ID: "at_2", Role: "viewer", Hash: hashOf("one")}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateAdminToken(taken hash) err = %v, want ErrConflict", err)
	}
	if _, err := st.CreateAdminToken(ctx, store.AdminToken{ID: "at_3", Role: "viewer", Hash: []byte("plaintext")}); err == nil {
		t.Error("CreateAdminToken(plaintext as hash) succeeded, want an error")
	}
	first := time.Date(2029, 5, 1, 0, 0, 0, 0, time.UTC)
	if got, err := st.RevokeAdminToken(ctx, "at_1", first); err != nil || !got.RevokedAt.Equal(first) {
		t.Errorf("RevokeAdminToken = %v, %v; want revoked at %v", got.RevokedAt, err, first)
	}
	if got, err := st.RevokeAdminToken(ctx, "at_1", first.Add(time.Hour)); err != nil || !got.RevokedAt.Equal(first) {
		t.Errorf("second RevokeAdminToken = %v, %v; want the first time %v kept", got.RevokedAt, err, first)
	}
	if _, err := st.RevokeAdminToken(ctx, "nope", first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAdminToken(unknown) err = %v, want ErrNotFound", err)
	}
	list, err := st.ListAdminTokens(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "at_1" {
		t.Errorf("ListAdminTokens = %+v, %v; want [at_1]", list, err)
	}
}

// audit: entries come back newest first, filtered, and a cursor pages
// through them without repeats or gaps.
func (s suite) audit(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 7 {
		e := store.AuditEntry{
			At: base.Add(time.Duration(i) * time.Minute), Actor: []string{"alice", "bob"}[i%2], Role: "owner",
			Address: "192.0.2.1", Resource: "deployments", ResourceID: fmt.Sprint("d", i), Action: []string{"create", "delete"}[i%2],
			Status: 200, After: []byte(`{"id":"d` + fmt.Sprint(i) + `"}`),
		}
		if i == 6 {
			e.Resource, e.After = "keys", nil
		}
		if _, err := st.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	ids := func(es []store.AuditEntry) string {
		var out []string
		for _, e := range es {
			out = append(out, e.ResourceID)
		}
		return fmt.Sprint(out)
	}
	tests := []struct {
		name string
		q    store.AuditQuery
		want string
	}{
		{"all", store.AuditQuery{}, "[d6 d5 d4 d3 d2 d1 d0]"},
		{"actor", store.AuditQuery{Actor: "bob"}, "[d5 d3 d1]"},
		{"resource", store.AuditQuery{Resource: "keys"}, "[d6]"},
		{"action", store.AuditQuery{Action: "create", Resource: "deployments"}, "[d4 d2 d0]"},
		{"range", store.AuditQuery{From: base.Add(2 * time.Minute), To: base.Add(4 * time.Minute)}, "[d3 d2]"},
	}
	for _, tc := range tests {
		got, next, err := st.QueryAudit(ctx, tc.q)
		if err != nil {
			t.Fatalf("%s: QueryAudit: %v", tc.name, err)
		}
		if ids(got) != tc.want || next != "" {
			t.Errorf("%s: QueryAudit = %s (next %q), want %s and no next page", tc.name, ids(got), next, tc.want)
		}
	}
	var pages []string
	q := store.AuditQuery{Limit: 3}
	for range 5 {
		got, next, err := st.QueryAudit(ctx, q)
		if err != nil {
			t.Fatalf("QueryAudit page: %v", err)
		}
		pages = append(pages, ids(got))
		if next == "" {
			break
		}
		q.After = next
	}
	if got, want := fmt.Sprint(pages), "[[d6 d5 d4] [d3 d2 d1] [d0]]"; got != want {
		t.Errorf("pages = %s, want %s", got, want)
	}
	all, _, _ := st.QueryAudit(ctx, store.AuditQuery{Resource: "deployments", Action: "create", Limit: 1})
	if len(all) != 1 || string(all[0].After) != `{"id":"d4"}` || all[0].Address != "192.0.2.1" || !all[0].At.Equal(base.Add(4*time.Minute)) || all[0].Status != 200 {
		t.Errorf("newest create = %+v, want d4 with its document, address, time and status", all)
	}
}

// adminSessions: a session one handle creates is seen by another until it
// expires or is deleted, as on two replicas.
func (s suite) adminSessions(t *testing.T) {
	a := s.store(t, nil)
	b := s.store(t, nil)
	ctx := t.Context()
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	sess := store.AdminSession{Hash: hashOf("cookie"), Subject: "oidc:alice", Name: "Alice", Role: "organiser", Provider: "okta", ExpiresAt: now.Add(time.Hour)}
	if err := a.CreateAdminSession(ctx, sess); err != nil {
		t.Fatalf("CreateAdminSession: %v", err)
	}
	got, err := b.AdminSession(ctx, hashOf("cookie"), now)
	if err != nil || got.Subject != "oidc:alice" || got.Role != "organiser" || got.Provider != "okta" || got.Name != "Alice" {
		t.Errorf("AdminSession on the other handle = %+v, %v; want alice's", got, err)
	}
	if _, err := b.AdminSession(ctx, hashOf("cookie"), now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AdminSession at expiry err = %v, want ErrNotFound", err)
	}
	if err := b.DeleteAdminSession(ctx, hashOf("cookie")); err != nil {
		t.Fatalf("DeleteAdminSession: %v", err)
	}
	if _, err := a.AdminSession(ctx, hashOf("cookie"), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AdminSession after sign-out elsewhere err = %v, want ErrNotFound", err)
	}
	if err := a.CreateAdminSession(ctx, store.AdminSession{Hash: []byte("x"), Subject: "s", Role: "owner"}); err == nil {
		t.Error("CreateAdminSession(short hash) succeeded, want an error")
	}
}

// eventOwner: the owner of an event survives a round trip and an update.
func (s suite) eventOwner(t *testing.T) {
	st := s.store(t, nil)
	e := mustCreateEvent(t, st, store.Event{ID: "ev1", Name: "one", Owner: "github:alice"})
	got, err := st.GetEvent(t.Context(), e.ID)
	if err != nil || got.Owner != "github:alice" {
		t.Fatalf("GetEvent = %+v, %v; want owner github:alice", got, err)
	}
	if got.SignInRegistration || got.SignInDomains != nil {
		t.Errorf("new event: sign-in registration %v, domains %v; want off and nil", got.SignInRegistration, got.SignInDomains)
	}
	got.Owner, got.SignInRegistration, got.SignInDomains = "github:bob", true, []string{"example.com", "acme.test"}
	if _, err := st.UpdateEvent(t.Context(), got); err != nil {
		t.Fatalf("UpdateEvent: %v", err)
	}
	after, _ := st.GetEvent(t.Context(), e.ID)
	if after.Owner != "github:bob" || !after.SignInRegistration || strings.Join(after.SignInDomains, ",") != "example.com,acme.test" {
		t.Errorf("after update: owner %q, sign-in %v, domains %v; want github:bob, true, [example.com acme.test]", after.Owner, after.SignInRegistration, after.SignInDomains)
	}
}
