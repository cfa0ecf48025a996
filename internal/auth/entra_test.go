package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testTenant   = "11111111-2222-3333-4444-555555555555"
	testAudience = "api://spillway"
	appA         = "aaaaaaaa-0000-0000-0000-000000000001"
	groupB       = "bbbbbbbb-0000-0000-0000-000000000002"
)

var (
	keysOnce        sync.Once
	signer, rotated *rsa.PrivateKey
	impostor        *rsa.PrivateKey
)

func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		for _, k := range []**rsa.PrivateKey{&signer, &rotated, &impostor} {
			var err error
			if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		}
	})
}

// sign makes an RS256 JWT with the given header kid and claims.
func sign(t *testing.T, key *rsa.PrivateKey, kid, alg string, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": alg, "kid": kid})
	c, _ := json.Marshal(claims)
	in := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + enc.EncodeToString(sig)
}

// keyServer serves a tenant's OpenID configuration and JWKS, counting
// key fetches; kids maps key ids to public keys.
type keyServer struct {
	mu      sync.Mutex
	kids    map[string]*rsa.PublicKey
	fetches int
	srv     *httptest.Server
}

func newKeyServer(t *testing.T, kids map[string]*rsa.PublicKey) *keyServer {
	t.Helper()
	ks := &keyServer{kids: kids}
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/" + testTenant + "/v2.0/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"jwks_uri": ks.srv.URL + "/keys", "issuer": ks.srv.URL + "/" + testTenant + "/v2.0"})
		case "/keys":
			ks.mu.Lock()
			defer ks.mu.Unlock()
			ks.fetches++
			var keys []map[string]string
			for kid, k := range ks.kids {
				keys = append(keys, map[string]string{"kty": "RSA", "use": "sig", "kid": kid,
					"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keyServer) count() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.fetches
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestEntra(t *testing.T, ks *keyServer, clock *testClock) *Entra {
	t.Helper()
	static := NewStaticKeys([]StaticKey{{Key: "sk-team-a", Name: "team-a"}, {Key: "sk-team-b", Name: "team-b"}})
	return NewEntra(EntraOptions{
		TenantID: testTenant, Audience: testAudience, AuthorityHost: ks.srv.URL,
		Rules: []EntraRule{{AppID: appA, KeyID: "team-a"}, {Group: groupB, KeyID: "static:team-b"}, {AppID: "gone-app", KeyID: "team-z"}},
		Keys:  static, Next: static, Client: ks.srv.Client(), Now: clock.Now,
	})
}

func TestEntraTokens(t *testing.T) {
	testKeys(t)
	clock := &testClock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	ks := newKeyServer(t, map[string]*rsa.PublicKey{"k1": &signer.PublicKey})
	a := newTestEntra(t, ks, clock)
	now := clock.Now().Unix()
	v2Issuer := ks.srv.URL + "/" + testTenant + "/v2.0"
	v1Issuer := "https://sts.windows.net/" + testTenant + "/"
	base := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": v2Issuer, "aud": testAudience, "exp": now + 3600, "nbf": now - 60, "iat": now - 60, "azp": appA, "ver": "2.0"}
		if edit != nil {
			edit(c)
		}
		return c
	}
	tests := []struct {
		name    string
		token   string
		wantKey string // the principal's KeyID, or ""
		wantErr string // in the TokenError's reason
	}{
		{"v2 token, app mapped", sign(t, signer, "k1", "RS256", base(nil)), "static:team-a", ""},
		{"v1 token with appid and an audience list", sign(t, signer, "k1", "RS256", base(func(c map[string]any) {
			c["iss"], c["aud"], c["appid"] = v1Issuer, []string{"other", testAudience}, appA
			delete(c, "azp")
		})), "static:team-a", ""},
		{"group mapped", sign(t, signer, "k1", "RS256", base(func(c map[string]any) { c["azp"], c["groups"] = "unmapped", []string{"x", groupB} })), "static:team-b", ""},
		{"within the leeway after exp", sign(t, signer, "k1", "RS256", base(func(c map[string]any) { c["exp"] = now - 30 })), "static:team-a", ""},
		{"expired", sign(t, signer, "k1", "RS256", base(func(c map[string]any) { c["exp"] = now - 3600 })), "", "token expired at 2026-11-22T11:00:00Z"},
		{"not yet valid", sign(t, signer, "k1", "RS256", base(func(c map[string]any) { c["nbf"] = now + 3600 })), "", "token not valid before"},
		{"wrong audience", sign(t, signer, "k1", "RS256", base(func(c map[string]any) { c["aud"] = "api://someone-else" })), "", "wrong audience; the token must be issued for api://spillway"},
		{"wrong issuer", sign(t, signer, "k1", "RS256", base(func(c map[string]any) { c["iss"] = "https://login.microsoftonline.com/other-tenant/v2.0" })), "", "wrong issuer"},
		{"bad signature", sign(t, impostor, "k1", "RS256", base(nil)), "", "bad signature"},
		{"tampered payload", tamper(sign(t, signer, "k1", "RS256", base(nil))), "", "bad signature"},
		{"HS256", sign(t, signer, "k1", "HS256", base(nil)), "", `unsupported algorithm "HS256"`},
		{"unknown kid", sign(t, impostor, "nope", "RS256", base(nil)), "", "signed with an unknown key"},
		{"no mapping", sign(t, signer, "k1", "RS256", base(func(c map[string]any) { c["azp"] = "stranger" })), "", `no key is mapped to this token's app id ("stranger")`},
		{"mapped key gone", sign(t, signer, "k1", "RS256", base(func(c map[string]any) { c["azp"] = "gone-app" })), "", "the key mapped to this token (team-z) does not exist"},
		{"not JSON", "eyJub3Q.eyJ4IjoxfQ.c2ln", "", "malformed token: header is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.token)
			if tt.wantErr == "" {
				if err != nil || p == nil || p.KeyID != tt.wantKey {
					t.Fatalf("Authenticate = %+v, %v; want key %s", p, err, tt.wantKey)
				}
				return
			}
			var te *TokenError
			if !errors.As(err, &te) || !strings.Contains(te.Reason, tt.wantErr) {
				t.Fatalf("err = %v, want a TokenError with %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidKey) {
				t.Error("a TokenError must be an ErrInvalidKey (401)")
			}
		})
	}
	// The keys were fetched once: the unknown kid came within a minute of
	// that fetch, so it did not cause another.
	if got := ks.count(); got != 1 {
		t.Errorf("key fetches = %d, want 1", got)
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	var c map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(b, &c)
	c["azp"] = "someone-else"
	b, _ = json.Marshal(c)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

func TestEntraKeyRotation(t *testing.T) {
	testKeys(t)
	clock := &testClock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	ks := newKeyServer(t, map[string]*rsa.PublicKey{"k1": &signer.PublicKey})
	a := newTestEntra(t, ks, clock)
	claims := map[string]any{"iss": "https://sts.windows.net/" + testTenant + "/", "aud": testAudience, "exp": clock.Now().Unix() + 86400*2, "appid": appA}
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, sign(t, signer, "k1", "RS256", claims)); err != nil {
		t.Fatal(err)
	}
	// Entra starts signing with k2. Right after the last fetch, the
	// unknown kid may not trigger another: forged kids cannot hammer the
	// key endpoint.
	ks.mu.Lock()
	ks.kids["k2"] = &rotated.PublicKey
	ks.mu.Unlock()
	newTok := sign(t, rotated, "k2", "RS256", claims)
	clock.Advance(10 * time.Second)
	if _, err := a.Authenticate(ctx, newTok); err != errUnknownKid {
		t.Fatalf("err = %v, want unknown key within the refetch spacing", err)
	}
	clock.Advance(jwksMinRefetch)
	if p, err := a.Authenticate(ctx, newTok); err != nil || p.KeyID != "static:team-a" {
		t.Fatalf("after the spacing: %v, %v; want the rotated key fetched and accepted", p, err)
	}
	if got := ks.count(); got != 2 {
		t.Errorf("key fetches = %d, want 2", got)
	}
	// Keys older than a day are fetched again on use.
	clock.Advance(jwksMaxAge)
	if _, err := a.Authenticate(ctx, newTok); err != nil {
		t.Fatal(err)
	}
	if got := ks.count(); got != 3 {
		t.Errorf("key fetches = %d, want 3 after a day", got)
	}
}

func TestEntraPassesKeysOn(t *testing.T) {
	testKeys(t)
	ks := newKeyServer(t, map[string]*rsa.PublicKey{"k1": &signer.PublicKey})
	a := newTestEntra(t, ks, &testClock{t: time.Now()})
	if p, err := a.Authenticate(context.Background(), "sk-team-b"); err != nil || p.KeyID != "static:team-b" {
		t.Errorf("a key: %v, %v; want team-b from the key authenticator", p, err)
	}
	if _, err := a.Authenticate(context.Background(), "sk-unknown"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("an unknown key: %v, want ErrInvalidKey", err)
	}
	if ks.count() != 0 {
		t.Error("keys were checked against the JWKS")
	}
}

func TestEntraKeysUnavailable(t *testing.T) {
	testKeys(t)
	ks := newKeyServer(t, nil)
	ks.srv.Close() // nothing answers
	a := newTestEntra(t, ks, &testClock{t: time.Now()})
	tok := sign(t, signer, "k1", "RS256", map[string]any{"aud": testAudience, "exp": time.Now().Unix() + 60})
	_, err := a.Authenticate(context.Background(), tok)
	if err == nil || errors.Is(err, ErrInvalidKey) {
		t.Errorf("err = %v, want an outage (503), not a bad token (401)", err)
	}
}
