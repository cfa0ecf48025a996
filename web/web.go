// Package web serves Spillway's browser pages from the binary itself: the
// playground at / (chat, images and embeddings through the gateway's own
// data-plane routes, signed in with a client or attendee key) and the
// admin portal at /admin/ (deployments, events, keys and usage through
// the management API, signed in with the admin token). Pages are
// html/template compiled ahead of time into Go (compiled.go; `go generate
// ./web` after changing a template); scripts and styles are files under
// static/; all is embedded and nothing is fetched from another origin, so
// every page can run under a strict Content-Security-Policy. Model answers
// are rendered as markdown in the browser by two vendored libraries
// (static/vendor/README.md); event descriptions on the server (markdown.go).
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"
)

//go:embed static
var staticFS embed.FS

// Patterns are the routes to register on the server's mux for this
// handler. Each is narrower than the data plane's "/" and the management
// API's "/admin/", so it takes exactly these paths and nothing else.
var Patterns = []string{
	"GET /{$}",
	"GET /static/",
	"GET /admin",
	"GET /admin/{$}",
	"POST /admin/login",
	"POST /admin/logout",
	"GET /admin/providers",
	"POST /ui/markdown",
}

// Options configure the web handler.
type Options struct {
	// Token reports whether a presented admin token is right, as
	// admin.Options.Token. Nil: nobody can sign in to the portal.
	Token func(presented string) bool
	// SessionKey returns the key that signs portal sessions. It must be
	// the same on every replica and should change with the admin token
	// (auth.AdminToken.SessionKey). Nil, or a nil key: nobody can sign in.
	SessionKey func() []byte
	// SessionTTL is how long a portal sign-in lasts. Default 12h.
	SessionTTL time.Duration
	// Logger receives template errors. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for session expiry. Default time.Now.
	Now func() time.Time
	// SignInAudit, when set, records each admin token sign-in to the
	// portal: action "signin" or "signin_failed", and the status answered.
	SignInAudit func(r *http.Request, action string, status int)
	// Identity offers "Sign in with ..." and keeps those sessions
	// (internal/identity.Service). Nil: only the admin token signs in.
	Identity Identity
}

// SignInLink is a "Sign in with <Name>" button that goes to URL.
type SignInLink struct {
	Name string
	URL  string
}

// Identity is the sign-in with a company identity, as the portal needs
// it.
type Identity interface {
	// Links are the sign-in buttons: a label and the URL that starts it.
	Links() []SignInLink
	// CSRF returns the CSRF token of r's session, if r has one.
	CSRF(r *http.Request) (string, bool)
	// SignOut ends r's session when csrf is its token; false otherwise.
	SignOut(w http.ResponseWriter, r *http.Request, csrf string) bool
	// SignInWithToken starts a stored session for the admin token's
	// holder (an owner), so that it too ends on every replica at sign-out.
	SignInWithToken(w http.ResponseWriter, r *http.Request) error
}

// DefaultSessionTTL is Options.SessionTTL's default.
const DefaultSessionTTL = 12 * time.Hour

// Handler serves the playground and the admin portal.
type Handler struct {
	mux      *http.ServeMux
	assets   *assets
	sessions sessions
	token    func(string) bool
	identity Identity
	audit    func(r *http.Request, action string, status int)
	log      *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// New returns the web handler.
func New(o Options) *Handler {
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	h := &Handler{
		mux:      http.NewServeMux(),
		assets:   newAssets(static),
		sessions: sessions{key: o.SessionKey, ttl: o.SessionTTL, now: o.Now},
		token:    o.Token,
		identity: o.Identity,
		audit:    o.SignInAudit,
		log:      o.Logger,
	}

	// Forms are checked for a cross-origin source (Sec-Fetch-Site, else
	// Origin against Host) on top of the SameSite cookie.
	forms := http.NewCrossOriginProtection()
	h.mux.HandleFunc("GET /{$}", h.playground)
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", h.assets))
	h.mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
	})
	h.mux.HandleFunc("GET /admin/{$}", h.portal)
	h.mux.Handle("POST /admin/login", forms.Handler(http.HandlerFunc(h.login)))
	h.mux.Handle("POST /admin/logout", forms.Handler(http.HandlerFunc(h.logout)))
	h.mux.HandleFunc("GET /admin/providers", h.providers)
	h.mux.Handle("POST /ui/markdown", forms.Handler(http.HandlerFunc(h.markdown)))
	return h
}

// ServeHTTP sets the security headers every page and asset carries, then
// serves the route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	h.mux.ServeHTTP(w, r)
}

// Session reports whether r comes from a signed-in portal session that may
// make this call: a valid session cookie, and on a state-changing method
// the session's CSRF token in X-CSRF-Token. It is admin.Options.Session.
func (h *Handler) Session(r *http.Request) bool {
	return h.sessions.allows(r)
}
