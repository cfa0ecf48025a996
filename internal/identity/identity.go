// Package identity signs admins in to the portal with a company identity:
// any OpenID Connect issuer (authorization code with PKCE, state and
// nonce; the ID token verified with go-oidc) or GitHub OAuth (with org
// and team membership read from GitHub's API). Config maps emails, email
// domains, groups and GitHub orgs or teams to roles; an identity that
// maps to nothing is refused with a page that says why.
//
// Sessions live in the store, so a sign-out ends a session on every
// replica at once; the browser holds only a random value whose hash the
// store keeps, in an HttpOnly, SameSite=Lax cookie that is Secure except
// on loopback HTTP. Every sign-in, failed sign-in and sign-out is written
// to the audit log.
package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/store"
)

// Options configure the sign-in service.
type Options struct {
	// Config is the identity section of the config file.
	Config config.Identity
	// Store keeps sessions and the audit log. Required.
	Store store.Store
	// Key signs the short-lived cookie that carries a sign-in's state,
	// nonce and PKCE verifier from the redirect to the callback; it must
	// be the same on every replica (auth.AdminToken.SessionKey). A nil
	// key makes sign-in answer 503.
	Key func() []byte
	// Client talks to the providers. Default http.DefaultClient.
	Client *http.Client
	// Now is the clock for sessions and ID token expiry. Default time.Now.
	Now func() time.Time
	// Logger receives failed sign-ins and provider errors. Default
	// slog.Default().
	Logger *slog.Logger
	// TokenEpoch names the current admin token (a fingerprint of its hash,
	// never the token). A session begun with the admin token records it
	// and ends when it changes, so rotating the token ends those sessions
	// on every replica. Nil: such sessions last their TTL.
	TokenEpoch func() string
	// Register issues attendee keys to attendees who sign in to register
	// for an event (register.go). Nil: attendees cannot sign in.
	Register RegisterFunc
}

// DefaultSessionTTL is how long a sign-in lasts without
// identity.session_ttl.
const DefaultSessionTTL = 12 * time.Hour

// Service serves the sign-in routes and answers who a request's session
// belongs to.
type Service struct {
	opts      Options
	ttl       time.Duration
	providers []provider
	byID      map[string]provider
	rules     []config.RoleRule
	log       *slog.Logger
	mux       *http.ServeMux
}

// Patterns are the routes to register for the service on the server's
// mux; each is narrower than the management API's "/admin/".
var Patterns = []string{
	"GET /admin/signin/{provider}",
	"GET /admin/callback/{provider}",
	"GET /register/{event}",
	"GET /register/{event}/signin/{provider}",
}

// New returns the service for the configured providers (none is fine:
// Providers is then empty and every route answers 404).
func New(o Options) *Service {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Service{opts: o, ttl: time.Duration(o.Config.SessionTTL), rules: o.Config.Roles, log: o.Logger, byID: map[string]provider{}, mux: http.NewServeMux()}
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	for _, p := range o.Config.Providers {
		var pr provider
		switch p.Type {
		case "github":
			pr = newGitHub(p, o.Client)
		default:
			pr = newOIDC(p, o.Client, o.Now)
		}
		s.providers = append(s.providers, pr)
		s.byID[p.ID] = pr
	}
	s.mux.HandleFunc("GET /admin/signin/{provider}", s.signin)
	s.mux.HandleFunc("GET /admin/callback/{provider}", s.callback)
	s.mux.HandleFunc("GET /register/{event}", s.registerInfo)
	s.mux.HandleFunc("GET /register/{event}/signin/{provider}", s.registerSignIn)
	return s
}

// ServeHTTP serves Patterns.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// Link is a "Sign in with ..." button.
type Link struct {
	Name string
	URL  string
}

// Links lists the sign-in buttons, in the config's order.
func (s *Service) Links() []Link {
	out := make([]Link, len(s.providers))
	for i, p := range s.providers {
		out[i] = Link{Name: p.conf().Name, URL: "/admin/signin/" + p.conf().ID}
		if out[i].Name == "" {
			out[i].Name = p.conf().ID
		}
	}
	return out
}

// Identity is who a provider says signed in.
type Identity struct {
	// Provider is the provider's id from the config.
	Provider string
	// Subject is the provider's stable id for the person (OIDC sub,
	// GitHub user id).
	Subject string
	// Login is the GitHub login; "" for OIDC.
	Login string
	Name  string
	// Email is the person's verified email, "" when there is none.
	Email string
	// Groups come from the OIDC groups claim; Orgs and Teams ("org/slug")
	// from GitHub's API.
	Groups []string
	Orgs   []string
	Teams  []string
}

// AdminID is the identity's id in audit entries and event ownership:
// "<provider>:<email>" for OIDC (the subject when there is no email) and
// "<provider>:<login>" for GitHub.
func (id Identity) AdminID() string {
	switch {
	case id.Login != "":
		return id.Provider + ":" + id.Login
	case id.Email != "":
		return id.Provider + ":" + id.Email
	}
	return id.Provider + ":" + id.Subject
}

// sessionCookie names the portal session set by a sign-in with a
// provider. Its path is /admin, so it never travels with data-plane
// requests; SameSite=Lax (Strict would be dropped on the redirect back
// from the provider) keeps it off cross-site POSTs, and the CSRF header
// guards every change.
const sessionCookie = "spillway_session"

// csrfHeader carries the session's CSRF token on state-changing calls.
const csrfHeader = "X-CSRF-Token"

func hashOf(v string) []byte {
	h := auth.Hash(v)
	return h[:]
}

// session returns r's stored session and its cookie's value.
func (s *Service) session(r *http.Request) (store.AdminSession, string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return store.AdminSession{}, "", false
	}
	a, err := s.opts.Store.AdminSession(r.Context(), hashOf(c.Value), s.opts.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(r.Context(), "admin session lookup failed", "err", err)
		}
		return store.AdminSession{}, "", false
	}
	if epoch, ok := strings.CutPrefix(a.Provider, tokenProvider+":"); ok && (s.opts.TokenEpoch == nil || !equal(epoch, s.opts.TokenEpoch())) {
		return store.AdminSession{}, "", false
	}
	return a, c.Value, true
}

// tokenProvider is the provider of sessions begun with the admin token.
const tokenProvider = "admin-token"

// CSRF returns the CSRF token of r's session, if r has one.
func (s *Service) CSRF(r *http.Request) (string, bool) {
	_, v, ok := s.session(r)
	if !ok {
		return "", false
	}
	return csrfOf(v), true
}

// csrfOf is the CSRF token of a session value: a one-way function of it,
// so the page can carry it without carrying the session.
func csrfOf(v string) string {
	h := sha256.Sum256([]byte("spillway csrf\x00" + v))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Admin reports who r's session belongs to, for the management API: a
// safe method needs the session cookie, any other method the cookie and
// its CSRF token in X-CSRF-Token as well. It is admin.Options.SessionAdmin.
func (s *Service) Admin(r *http.Request) (auth.Admin, bool) {
	a, v, ok := s.session(r)
	if !ok {
		return auth.Admin{}, false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !equal(r.Header.Get(csrfHeader), csrfOf(v)) {
			return auth.Admin{}, false
		}
	}
	role, err := auth.ParseRole(a.Role)
	if err != nil {
		return auth.Admin{}, false
	}
	return auth.Admin{ID: a.Subject, Name: a.Name, Role: role}, true
}

// audit appends an entry about a sign-in; a store failure is logged.
func (s *Service) audit(ctx context.Context, r *http.Request, e store.AuditEntry) {
	e.At, e.Address = s.opts.Now(), auth.PeerHost(r)
	if e.Resource == "" {
		e.Resource = "sessions"
	}
	if _, err := s.opts.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "audit entry not stored", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// errNoKey is why sign-in cannot work without a signing key.
var errNoKey = fmt.Errorf("sign-in needs the admin token's hash loaded to sign its state")
