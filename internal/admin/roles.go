package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// Every private route declares the roles that may call it; a route that
// declares none is refused for everyone (TestEveryRouteDeclaresRoles), so
// a route added later cannot be open by accident. An organiser's routes
// further declare a scope: which of the organiser's own things the route
// touches.

// roles is the set of roles a route allows.
type roles []auth.Role

var (
	// everyone is every signed-in role; organisers see only their own
	// things on such routes (scope) or nothing secret.
	everyone = roles{auth.RoleOwner, auth.RoleOperator, auth.RoleOrganiser, auth.RoleViewer}
	// readers read deployments, keys, routing and the audit log.
	readers = roles{auth.RoleOwner, auth.RoleOperator, auth.RoleViewer}
	// operators change deployments and keys and read payloads.
	operators = roles{auth.RoleOwner, auth.RoleOperator}
	// organisers change events (their own, for an organiser).
	organisers = roles{auth.RoleOwner, auth.RoleOrganiser}
	// owners mint admin API tokens.
	owners = roles{auth.RoleOwner}
)

// scope says what an organiser may reach through a route. The zero
// value is for routes that show an organiser nothing of others'.
type scope int

const (
	// scopeEvent: the path's {id} is an event the organiser must own;
	// another's answers 404, as if it did not exist.
	scopeEvent scope = iota + 1
	// scopeUsage: an organiser must filter usage by an event they own.
	scopeUsage
)

// errForbidden answers a signed-in admin whose role may not call a route.
func errForbidden(a auth.Admin, r *http.Request, allowed roles) *apierror.Error {
	names := make([]string, len(allowed))
	for i, role := range allowed {
		names[i] = string(role)
	}
	msg := fmt.Sprintf("%s %s needs the role %s; %s has the role %s. Ask an owner for a token or a sign-in with that role",
		r.Method, r.URL.Path, strings.Join(names, " or "), a.Name, a.Role)
	if len(allowed) == 0 {
		msg = fmt.Sprintf("%s %s declares no role, so nobody may call it", r.Method, r.URL.Path)
	}
	return &apierror.Error{Status: http.StatusForbidden, Message: msg, Type: apierror.TypePermission, Code: "insufficient_role"}
}

// guard checks the caller's role, and an organiser's scope, before fn.
func (h *handler) guard(rt route) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.permit(rt, r); err != nil {
			return err
		}
		return rt.fn(w, r)
	}
}

// permit refuses r when its admin's role may not call rt, or when an
// organiser asks for what is not theirs.
func (h *handler) permit(rt route, r *http.Request) error {
	a, ok := auth.AdminFrom(r.Context())
	if !ok || !slices.Contains(rt.allow, a.Role) {
		return errForbidden(a, r, rt.allow)
	}
	if a.Role == auth.RoleOrganiser {
		return h.organiserScope(r, a, rt.scope)
	}
	return nil
}

// organiserScope refuses an organiser a thing that is not theirs.
func (h *handler) organiserScope(r *http.Request, a auth.Admin, s scope) error {
	switch s {
	case scopeEvent:
		id := r.PathValue("id")
		e, err := h.opts.Store.GetEvent(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && e.Owner != a.ID) {
			return errNoSuch("event", id)
		}
		return err
	case scopeUsage:
		id := r.URL.Query().Get("event")
		if id == "" {
			return &apierror.Error{
				Status:  http.StatusForbidden,
				Message: "an organiser reads the usage of their own events only: add ?event=<event id>",
				Type:    apierror.TypePermission, Param: "event", Code: "insufficient_role",
			}
		}
		e, err := h.opts.Store.GetEvent(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && e.Owner != a.ID) {
			return errNoSuch("event", id)
		}
		return err
	}
	return nil
}

// visibleEvents drops the events an organiser does not own.
func visibleEvents(ctx context.Context, events []store.Event) []store.Event {
	a, _ := auth.AdminFrom(ctx)
	if a.Role != auth.RoleOrganiser {
		return events
	}
	out := events[:0:0]
	for _, e := range events {
		if e.Owner == a.ID {
			out = append(out, e)
		}
	}
	return out
}

// eventOwner is the owner a new event gets: the identity creating it.
func eventOwner(ctx context.Context) string {
	a, _ := auth.AdminFrom(ctx)
	return a.ID
}

// adminTokenPrefix starts every minted admin API token, so that a token
// that is not the static one is looked up in the store.
const adminTokenPrefix = "sk-adm-"

// identify returns who sent r: the static admin token (owner), a minted
// admin API token, or a portal session.
func (h *handler) identify(r *http.Request) (auth.Admin, error) {
	header := r.Header.Get("Authorization")
	token, ok := bearer(header)
	if !ok && header == "" {
		if h.opts.SessionAdmin != nil {
			if a, ok := h.opts.SessionAdmin(r); ok {
				return a, nil
			}
		}
		if h.opts.Session != nil && h.opts.Session(r) {
			return auth.StaticAdmin, nil
		}
	}
	if !ok {
		return auth.Admin{}, &apierror.Error{
			Status:  http.StatusUnauthorized,
			Message: "admin token required: send Authorization: Bearer <admin token>",
			Type:    apierror.TypeAuthentication, Code: "missing_admin_token",
		}
	}
	if h.opts.Token != nil && h.opts.Token(token) {
		return auth.StaticAdmin, nil
	}
	if strings.HasPrefix(token, adminTokenPrefix) {
		if a, ok, err := h.mintedToken(r.Context(), token); err != nil || ok {
			return a, err
		}
	}
	return auth.Admin{}, &apierror.Error{Status: http.StatusUnauthorized, Message: "invalid admin token", Type: apierror.TypeAuthentication, Code: "invalid_admin_token"}
}

// mintedToken looks a presented admin API token up by its hash. The
// lookup is by hash, so the database compares hashes, never tokens.
func (h *handler) mintedToken(ctx context.Context, token string) (auth.Admin, bool, error) {
	sum := auth.Hash(token)
	t, err := h.opts.Store.AdminTokenByHash(ctx, sum[:])
	if errors.Is(err, store.ErrNotFound) {
		return auth.Admin{}, false, nil
	}
	if err != nil {
		return auth.Admin{}, false, err
	}
	now := h.opts.Now()
	if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
		return auth.Admin{}, false, &apierror.Error{
			Status:  http.StatusUnauthorized,
			Message: fmt.Sprintf("admin API token %s is revoked or expired; ask an owner for a new one", t.ID),
			Type:    apierror.TypeAuthentication, Code: "expired_admin_token",
		}
	}
	role, err := auth.ParseRole(t.Role)
	if err != nil {
		return auth.Admin{}, false, fmt.Errorf("admin token %s: %w", t.ID, err)
	}
	return auth.Admin{ID: "token:" + t.ID, Name: t.Name, Role: role}, true, nil
}

// setOwner applies an event body's owner: only an owner may hand an event
// to someone else; anyone may send the current owner back unchanged.
func setOwner(ctx context.Context, e *store.Event, owner *string) error {
	if owner == nil || strings.TrimSpace(*owner) == e.Owner {
		return nil
	}
	if a, _ := auth.AdminFrom(ctx); a.Role != auth.RoleOwner {
		return &apierror.Error{
			Status:  http.StatusForbidden,
			Message: "only an owner may change an event's owner; leave owner out or send it unchanged",
			Type:    apierror.TypePermission, Param: "owner", Code: "insufficient_role",
		}
	}
	e.Owner = strings.TrimSpace(*owner)
	return nil
}
