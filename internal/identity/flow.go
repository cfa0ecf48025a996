package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// flowCookie carries a sign-in in progress from the redirect to the
// callback: signed, HttpOnly, only sent to the callback, ten minutes.
const flowCookie = "spillway_signin"

// flowTTL bounds how long a person may take at the provider.
const flowTTL = 10 * time.Minute

// flow is what the callback must see again: the provider, the state
// echoed in the redirect, the nonce the ID token must carry and the PKCE
// verifier only this browser knows.
type flow struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"`
	// Event is set when an attendee signs in to register for it.
	Event string `json:"ev,omitempty"`
}

func random() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func sign(key []byte, payload string) string {
	m := hmac.New(sha256.New, append([]byte("spillway signin\x00"), key...))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// secure reports whether cookies must be Secure: always, except when a
// browser reaches a loopback address over plain HTTP (a laptop).
func secure(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// redirectURI is the callback URL for provider id.
func (s *Service) redirectURI(r *http.Request, id string) string {
	base := strings.TrimSuffix(s.opts.Config.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/admin/callback/" + id
}

// signin serves GET /admin/signin/{provider}: a fresh state, nonce and
// PKCE verifier go into the flow cookie, and the browser to the provider.
func (s *Service) signin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.byID[r.PathValue("provider")]
	if !ok {
		s.refuse(w, r, http.StatusNotFound, "No such sign-in", "This gateway has no identity provider "+fmt.Sprintf("%q", r.PathValue("provider"))+"; go back to the sign-in page and pick one of its buttons.")
		return
	}
	s.startFlow(w, r, p, "")
}

// startFlow sends the browser to p with a fresh flow: for an admin, or
// for an attendee of event.
func (s *Service) startFlow(w http.ResponseWriter, r *http.Request, p provider, event string) {
	key := s.key()
	if key == nil {
		s.refuse(w, r, http.StatusServiceUnavailable, "Sign-in unavailable", errNoKey.Error())
		return
	}
	f := flow{Provider: p.conf().ID, State: random(), Nonce: random(), Verifier: random() + random()[:11], Expires: s.opts.Now().Add(flowTTL).Unix(), Event: event}
	target, err := p.authURL(r.Context(), s.redirectURI(r, f.Provider), f)
	if err != nil {
		s.log.ErrorContext(r.Context(), "identity provider unreachable", "provider", f.Provider, "err", err)
		s.refuse(w, r, http.StatusBadGateway, "Provider unreachable", "Spillway could not read the sign-in settings of "+p.name()+". Try again later; the gateway log has the details.")
		return
	}
	raw, _ := json.Marshal(f)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{
		Name: flowCookie, Value: payload + "." + sign(key, payload), Path: "/admin/callback/",
		MaxAge: int(flowTTL / time.Second), HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, target, http.StatusFound)
}

func (s *Service) key() []byte {
	if s.opts.Key == nil {
		return nil
	}
	return s.opts.Key()
}

// readFlow returns the request's signed, unexpired flow cookie.
func (s *Service) readFlow(r *http.Request) (flow, error) {
	c, err := r.Cookie(flowCookie)
	if err != nil {
		return flow{}, errors.New("this browser has no sign-in in progress (its cookie is missing: it expired, was used already, or the sign-in started in another browser)")
	}
	payload, mac, ok := strings.Cut(c.Value, ".")
	key := s.key()
	if !ok || key == nil || !hmac.Equal([]byte(mac), []byte(sign(key, payload))) {
		return flow{}, errors.New("the sign-in cookie is not one this gateway signed")
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	var f flow
	if err != nil || json.Unmarshal(raw, &f) != nil {
		return flow{}, errors.New("the sign-in cookie is malformed")
	}
	if !s.opts.Now().Before(time.Unix(f.Expires, 0)) {
		return flow{}, errors.New("the sign-in took longer than 10 minutes; start again")
	}
	return f, nil
}

// callback serves GET /admin/callback/{provider}: the state must match
// the flow cookie's, the code is exchanged with the PKCE verifier, the
// identity checked (ID token: issuer, audience, expiry, signature,
// nonce) and mapped to a role; then a stored session begins.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("provider")
	p, ok := s.byID[id]
	if !ok {
		s.refuse(w, r, http.StatusNotFound, "No such sign-in", fmt.Sprintf("This gateway has no identity provider %q.", id))
		return
	}
	// The flow cookie is single-use: cleared whatever happens next, so a
	// replayed callback finds none.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Path: "/admin/callback/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	fail := func(status int, who, reason string) {
		s.log.WarnContext(r.Context(), "admin sign-in refused", "provider", id, "identity", who, "reason", reason)
		s.audit(r.Context(), r, store.AuditEntry{Actor: who, Action: "signin_failed", Status: status, After: mustJSON(map[string]string{"provider": id, "reason": reason})})
		s.refuse(w, r, status, "Sign-in refused", reason)
	}
	f, err := s.readFlow(r)
	if err != nil {
		fail(http.StatusBadRequest, "", err.Error())
		return
	}
	q := r.URL.Query()
	switch {
	case f.Provider != id:
		fail(http.StatusBadRequest, "", "the sign-in was started with another provider")
		return
	case !equal(q.Get("state"), f.State):
		fail(http.StatusBadRequest, "", "the state parameter does not match this browser's sign-in (a forged or replayed callback)")
		return
	case q.Get("error") != "":
		fail(http.StatusUnauthorized, "", p.name()+" refused: "+q.Get("error")+" "+q.Get("error_description"))
		return
	case q.Get("code") == "":
		fail(http.StatusBadRequest, "", "the callback carries no code")
		return
	}
	ident, err := p.exchange(r.Context(), s.redirectURI(r, id), q.Get("code"), f)
	if err != nil {
		fail(http.StatusUnauthorized, "", p.name()+" did not vouch for this sign-in: "+err.Error())
		return
	}
	if f.Event != "" {
		s.registered(w, r, f.Event, ident)
		return
	}
	role, why := s.roleOf(ident)
	if role == "" {
		fail(http.StatusForbidden, ident.AdminID(), why)
		return
	}
	a := auth.Admin{ID: ident.AdminID(), Name: displayName(ident), Role: auth.Role(role)}
	if err := s.Begin(w, r, a, id); err != nil {
		s.log.ErrorContext(r.Context(), "admin session not stored", "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, "Sign-in unavailable", "The session could not be stored; try again. The gateway log has the details.")
		return
	}
	s.audit(r.Context(), r, store.AuditEntry{Actor: a.ID, Role: role, Action: "signin", Status: http.StatusOK,
		After: mustJSON(map[string]string{"provider": id, "name": a.Name, "role": role})})
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

// Begin stores a portal session for a, who provider vouched for
// ("admin-token" for the admin token form), and sets its cookie. The
// caller audits the sign-in.
func (s *Service) Begin(w http.ResponseWriter, r *http.Request, a auth.Admin, provider string) error {
	if provider == tokenProvider {
		if s.opts.TokenEpoch == nil || s.opts.TokenEpoch() == "" {
			return errNoKey
		}
		provider += ":" + s.opts.TokenEpoch()
	}
	v := random()
	sess := store.AdminSession{Hash: hashOf(v), Subject: a.ID, Name: a.Name, Role: string(a.Role), Provider: provider, ExpiresAt: s.opts.Now().Add(s.ttl)}
	if err := s.opts.Store.CreateAdminSession(r.Context(), sess); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: v, Path: "/admin", MaxAge: int(s.ttl / time.Second),
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// SignOut ends r's stored session, if it has one, and clears the cookie.
// It reports false when the form's CSRF token does not match the session.
func (s *Service) SignOut(w http.ResponseWriter, r *http.Request, csrf string) bool {
	a, v, ok := s.session(r)
	if !ok {
		return true
	}
	if !equal(csrf, csrfOf(v)) {
		return false
	}
	if err := s.opts.Store.DeleteAdminSession(r.Context(), a.Hash); err != nil {
		s.log.ErrorContext(r.Context(), "admin session not deleted", "err", err)
		return false
	}
	s.audit(r.Context(), r, store.AuditEntry{Actor: a.Subject, Role: a.Role, Action: "signout", Status: http.StatusOK})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/admin", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	return true
}

func displayName(id Identity) string {
	for _, s := range []string{id.Email, id.Login, id.Name} {
		if s != "" {
			return s
		}
	}
	return id.Subject
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
