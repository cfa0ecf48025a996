package admin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// Admin API tokens: owners mint named tokens with a role and an expiry,
// for automation that should not hold the all-powerful static token. The
// token is shown once; the store keeps its SHA-256.

// maxAdminTokenTTL bounds expires_in: a token that outlives a year is
// the static admin token by another name.
const maxAdminTokenTTL = 366 * 24 * time.Hour

// adminTokenBody is POST /admin/v1/admin-tokens.
type adminTokenBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// ExpiresIn is a Go duration ("720h"); ExpiresAt an RFC 3339 time.
	// One of them is required: every minted token expires.
	ExpiresIn string     `json:"expires_in"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// adminTokenView is a token as listed: never its secret or hash.
type adminTokenView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Prefix    string     `json:"prefix"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Status    string     `json:"status"`
	// Token is set only in the answer to the POST that minted it.
	Token string `json:"token,omitempty"`
}

func viewAdminToken(t store.AdminToken, now time.Time) adminTokenView {
	v := adminTokenView{
		ID: t.ID, Name: t.Name, Role: t.Role, Prefix: t.Prefix, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), Status: "active",
	}
	switch {
	case !t.RevokedAt.IsZero():
		at := t.RevokedAt.UTC()
		v.RevokedAt, v.Status = &at, "revoked"
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		v.Status = "expired"
	}
	return v
}

// newAdminToken returns a fresh token: the prefix the management API
// recognises and 192 random bits.
func newAdminToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return adminTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// createAdminToken answers POST /admin/v1/admin-tokens with the token,
// shown this once.
func (h *handler) createAdminToken(w http.ResponseWriter, r *http.Request) error {
	var b adminTokenBody
	if err := decodeStrict(w, r, &b, "name, role, expires_in or expires_at"); err != nil {
		return err
	}
	now := h.opts.Now()
	v := invalid{code: "invalid_admin_token"}
	name := strings.TrimSpace(b.Name)
	if name == "" {
		v.add("name", "give the token a name that says who or what uses it (\"ci-deploy\")")
	}
	v.text("name", name, 200)
	role, err := auth.ParseRole(b.Role)
	if err != nil {
		v.add("role", "%s", err.Error())
	}
	var expires time.Time
	switch {
	case b.ExpiresIn != "" && b.ExpiresAt != nil:
		v.add("expires_in", "give expires_in or expires_at, not both")
	case b.ExpiresIn != "":
		d, err := time.ParseDuration(b.ExpiresIn)
		if err != nil || d <= 0 {
			v.add("expires_in", "want a positive duration such as \"720h\", not %q", b.ExpiresIn)
		}
		expires = now.Add(d)
	case b.ExpiresAt != nil:
		expires = *b.ExpiresAt
		if !expires.After(now) {
			v.add("expires_at", "%s is not in the future", expires.UTC().Format(time.RFC3339))
		}
	default:
		v.add("expires_in", "every admin API token expires: give expires_in (\"720h\") or expires_at (RFC 3339)")
	}
	if !expires.IsZero() && expires.Sub(now) > maxAdminTokenTTL {
		v.add("expires_in", "at most 366 days (8784h); mint a new token when it runs out")
	}
	if err := v.err(); err != nil {
		return err
	}
	a, _ := auth.AdminFrom(r.Context())
	token := newAdminToken()
	sum := auth.Hash(token)
	t, err := h.opts.Store.CreateAdminToken(r.Context(), store.AdminToken{
		ID: randomID("adm_"), Name: name, Role: string(role), Hash: sum[:],
		Prefix: token[:len(adminTokenPrefix)+4], CreatedBy: a.ID, ExpiresAt: expires,
	})
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "admin API token minted", "token", t.ID, "role", t.Role, "by", a.ID)
	out := viewAdminToken(t, now)
	out.Token = token
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// listAdminTokens answers GET /admin/v1/admin-tokens, newest first.
func (h *handler) listAdminTokens(w http.ResponseWriter, r *http.Request) error {
	tokens, err := h.opts.Store.ListAdminTokens(r.Context())
	if err != nil {
		return err
	}
	now := h.opts.Now()
	data := make([]adminTokenView, len(tokens))
	for i, t := range tokens {
		data[i] = viewAdminToken(t, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

// revokeAdminToken answers DELETE /admin/v1/admin-tokens/{id}: the token
// stops working at once, on every replica (it is looked up per request),
// and stays listed as revoked.
func (h *handler) revokeAdminToken(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	t, err := h.opts.Store.RevokeAdminToken(r.Context(), id, h.opts.Now())
	if errors.Is(err, store.ErrNotFound) {
		return &apierror.Error{
			Status:  http.StatusNotFound,
			Message: "no admin API token with id " + id + "; GET /admin/v1/admin-tokens lists them",
			Type:    apierror.TypeNotFound, Param: "id", Code: "admin_token_not_found",
		}
	}
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "admin API token revoked", "token", t.ID)
	writeJSON(w, http.StatusOK, viewAdminToken(t, h.opts.Now()))
	return nil
}

// me answers GET /admin/v1/me: who the caller is and what their role may
// do, so the portal can hide what it cannot.
func (h *handler) me(w http.ResponseWriter, r *http.Request) error {
	a, _ := auth.AdminFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"id": a.ID, "name": a.Name, "role": a.Role})
	return nil
}
