package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The portal's session is a cookie any replica can verify without a
// session table: an expiry and a random nonce, signed with HMAC-SHA256
// under Options.SessionKey. Its CSRF token is an HMAC of the cookie, handed
// to the page in a meta tag and required in X-CSRF-Token on every
// state-changing API call. Rotating the admin token changes the key, which
// ends every session.

// sessionCookie is the cookie's name. Its path is /admin, so it never
// travels with data-plane requests.
const sessionCookie = "spillway_admin"

// csrfHeader carries the CSRF token on API calls from the portal.
const csrfHeader = "X-CSRF-Token"

type sessions struct {
	key func() []byte
	ttl time.Duration
	now func() time.Time
}

// currentKey is the signing key, or nil when sessions are impossible.
func (s sessions) currentKey() []byte {
	if s.key == nil {
		return nil
	}
	return s.key()
}

// issue returns a new signed session value, or "" without a key.
func (s sessions) issue() string {
	key := s.currentKey()
	if key == nil {
		return ""
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	payload := strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(nonce[:])
	return payload + "." + sign(key, "session", payload)
}

// valid reports whether v is a session this key signed that has not
// expired.
func (s sessions) valid(v string) bool {
	key := s.currentKey()
	if key == nil || v == "" {
		return false
	}
	payload, mac, ok := cutLast(v, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(sign(key, "session", payload))) {
		return false
	}
	exp, _, ok := strings.Cut(payload, ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && s.now().Before(time.Unix(unix, 0))
}

// csrf is the CSRF token of session v.
func (s sessions) csrf(v string) string {
	key := s.currentKey()
	if key == nil {
		return ""
	}
	return sign(key, "csrf", v)
}

// fromRequest returns the request's valid session, if any.
func (s sessions) fromRequest(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || !s.valid(c.Value) {
		return "", false
	}
	return c.Value, true
}

// allows reports whether r may call the management API on the strength of
// its session: a safe method needs the cookie, any other method the
// cookie and its CSRF token as well.
func (s sessions) allows(r *http.Request) bool {
	v, ok := s.fromRequest(r)
	if !ok {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return s.csrfOK(v, r.Header.Get(csrfHeader))
}

// csrfOK compares a presented CSRF token in constant time.
func (s sessions) csrfOK(session, presented string) bool {
	want := s.csrf(session)
	return want != "" && hmac.Equal([]byte(presented), []byte(want))
}

// cookie is the session cookie carrying v; an empty v and a negative
// maxAge delete it.
func sessionCookieFor(r *http.Request, v string, maxAge time.Duration) *http.Cookie {
	age := int(maxAge / time.Second)
	if maxAge < 0 {
		age = -1
	}
	return &http.Cookie{
		Name: sessionCookie, Value: v, Path: "/admin", MaxAge: age,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(r),
	}
}

// isTLS reports whether the browser reached us over HTTPS, directly or
// through a proxy that says so.
func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func sign(key []byte, purpose, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
