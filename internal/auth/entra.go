package auth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Entra ID client authentication: a client may present an Entra ID access
// token (a JWT) instead of a key. The token's signature is checked against
// the tenant's signing keys (JWKS), then its issuer, audience and validity
// period; its app id (appid, or azp in v2 tokens) or one of its groups is
// then mapped to a key, whose permissions the caller gets. Anything that
// does not look like a JWT goes to the key authenticator unchanged.

// KeyResolver finds the key a mapped token acts as. KeyByID returns
// ErrInvalidKey when the key does not exist or no longer works; any other
// error means the keys cannot be read right now.
type KeyResolver interface {
	KeyByID(ctx context.Context, id string) (*Principal, error)
}

// EntraRule maps an app id or a group to a key.
type EntraRule struct {
	AppID string // the token's appid or azp
	Group string // one of the token's groups
	KeyID string // the key whose permissions the caller gets
}

// EntraOptions configure NewEntra.
type EntraOptions struct {
	// TenantID gives the default Issuers and the OpenID configuration the
	// signing keys are found through.
	TenantID string
	// Audience is the aud tokens must carry. Required.
	Audience string
	// Issuers are the accepted iss values. Default: the tenant's v1 and v2
	// issuers.
	Issuers []string
	// JWKSURL is where the signing keys are. Default: the jwks_uri of
	// {AuthorityHost}{TenantID}/v2.0/.well-known/openid-configuration.
	JWKSURL string
	// AuthorityHost is the Entra ID endpoint. Default
	// https://login.microsoftonline.com/.
	AuthorityHost string
	// Rules map tokens to keys; the first that matches wins.
	Rules []EntraRule
	// Keys resolves a rule's KeyID. Required.
	Keys KeyResolver
	// Next authenticates credentials that are not JWTs. Required.
	Next Authenticator
	// Client fetches the signing keys. Default: a client with a 10s timeout.
	Client *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Leeway is the clock skew allowed on exp and nbf. Default 1 minute.
	Leeway time.Duration
}

// DefaultAuthorityHost is Entra ID in the public cloud.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// TokenError is an Entra ID token that is not accepted. It matches
// ErrInvalidKey with errors.Is; Reason says why, for the client.
type TokenError struct {
	Reason string
}

func (e *TokenError) Error() string { return "invalid Entra ID token: " + e.Reason }

// Is makes a TokenError an ErrInvalidKey.
func (e *TokenError) Is(target error) bool { return target == ErrInvalidKey }

// Entra is an Authenticator that accepts Entra ID access tokens and hands
// every other credential to the next Authenticator.
type Entra struct {
	audience string
	issuers  []string
	rules    []EntraRule
	keys     KeyResolver
	next     Authenticator
	now      func() time.Time
	leeway   time.Duration
	jwks     *jwks
}

var _ Authenticator = (*Entra)(nil)

// NewEntra returns an Entra ID authenticator.
func NewEntra(o EntraOptions) *Entra {
	host := o.AuthorityHost
	if host == "" {
		host = DefaultAuthorityHost
	}
	if !strings.HasSuffix(host, "/") {
		host += "/"
	}
	a := &Entra{audience: o.Audience, issuers: o.Issuers, rules: o.Rules, keys: o.Keys, next: o.Next, now: o.Now, leeway: o.Leeway}
	if len(a.issuers) == 0 && o.TenantID != "" {
		a.issuers = []string{"https://sts.windows.net/" + o.TenantID + "/", host + o.TenantID + "/v2.0"}
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.leeway <= 0 {
		a.leeway = time.Minute
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	a.jwks = &jwks{url: o.JWKSURL, client: client, now: a.now}
	if o.JWKSURL == "" && o.TenantID != "" {
		a.jwks.metadataURL = host + o.TenantID + "/v2.0/.well-known/openid-configuration"
	}
	return a
}

// LooksLikeJWT reports whether a credential has the shape of a JWT: three
// base64url parts, the first a JSON object.
func LooksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

// Authenticate implements Authenticator.
func (a *Entra) Authenticate(ctx context.Context, key string) (*Principal, error) {
	if !LooksLikeJWT(key) {
		return a.next.Authenticate(ctx, key)
	}
	c, err := a.verify(ctx, key)
	if err != nil {
		return nil, err
	}
	appID := c.AppID
	if appID == "" {
		appID = c.Azp
	}
	for _, r := range a.rules {
		if (r.AppID != "" && r.AppID == appID) || (r.Group != "" && slices.Contains(c.Groups, r.Group)) {
			p, err := a.keys.KeyByID(ctx, r.KeyID)
			if errors.Is(err, ErrInvalidKey) {
				return nil, &TokenError{Reason: fmt.Sprintf("the key mapped to this token (%s) does not exist or no longer works", r.KeyID)}
			}
			return p, err
		}
	}
	return nil, &TokenError{Reason: "no key is mapped to this token's app id (" + safe(appID) + ") or groups; ask the operator to map it"}
}

// claims are the token fields the gateway reads.
type claims struct {
	Iss    string      `json:"iss"`
	Aud    audience    `json:"aud"`
	Exp    json.Number `json:"exp"`
	Nbf    json.Number `json:"nbf"`
	AppID  string      `json:"appid"`
	Azp    string      `json:"azp"`
	Groups []string    `json:"groups"`
}

// audience is aud, a string or a list of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = []string{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

func malformed(what string) error { return &TokenError{Reason: "malformed token: " + what} }

// verify checks the token's signature first, then its claims: nothing is
// said about the claims of a token that is not genuine.
func (a *Entra) verify(ctx context.Context, tok string) (*claims, error) {
	parts := strings.Split(tok, ".")
	enc := base64.RawURLEncoding
	hb, err := enc.DecodeString(parts[0])
	if err != nil {
		return nil, malformed("header is not base64url")
	}
	var h jwtHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, malformed("header is not JSON")
	}
	if h.Alg != "RS256" {
		return nil, &TokenError{Reason: "unsupported algorithm " + safe(h.Alg) + "; Entra ID tokens are RS256"}
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, malformed("signature is not base64url")
	}
	pub, err := a.jwks.key(ctx, h.Kid)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(tok[:len(parts[0])+1+len(parts[1])]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return nil, &TokenError{Reason: "bad signature"}
	}
	pb, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, malformed("payload is not base64url")
	}
	var c claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, malformed("payload is not JSON")
	}
	now := a.now()
	exp, err := c.Exp.Float64()
	if err != nil {
		return nil, malformed("no exp")
	}
	if !now.Before(unix(exp).Add(a.leeway)) {
		return nil, &TokenError{Reason: "token expired at " + unix(exp).UTC().Format(time.RFC3339)}
	}
	if c.Nbf != "" {
		nbf, err := c.Nbf.Float64()
		if err != nil {
			return nil, malformed("nbf is not a number")
		}
		if now.Add(a.leeway).Before(unix(nbf)) {
			return nil, &TokenError{Reason: "token not valid before " + unix(nbf).UTC().Format(time.RFC3339)}
		}
	}
	if !slices.Contains(c.Aud, a.audience) {
		return nil, &TokenError{Reason: "wrong audience; the token must be issued for " + a.audience}
	}
	if !slices.Contains(a.issuers, c.Iss) {
		return nil, &TokenError{Reason: "wrong issuer " + safe(c.Iss)}
	}
	return &c, nil
}

func unix(sec float64) time.Time { return time.Unix(0, int64(sec*float64(time.Second))) }

// safe returns s for a message when it is short and printable, else a
// placeholder: token fields are the client's, not ours to echo blindly.
func safe(s string) string {
	if len(s) > 128 {
		return "(too long)"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "(unprintable)"
		}
	}
	return fmt.Sprintf("%q", s)
}
