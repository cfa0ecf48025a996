package auth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// jwksMaxAge is how long signing keys are used before they are fetched
	// again (Entra rotates them every few weeks, announcing new ones early).
	jwksMaxAge = 24 * time.Hour
	// jwksMinRefetch spaces fetches caused by an unknown kid, so a flood of
	// forged tokens cannot turn the gateway against the key endpoint.
	jwksMinRefetch = time.Minute
	// maxJWKSBody bounds a key document or OpenID configuration.
	maxJWKSBody = 1 << 20
)

// jwks caches a tenant's signing keys. Reads take no lock; fetches are one
// at a time.
type jwks struct {
	url         string // the JWKS; found through metadataURL when empty
	metadataURL string
	client      *http.Client
	now         func() time.Time

	cur atomic.Pointer[keySet]

	mu      sync.Mutex
	lastTry time.Time
	lastErr error
}

type keySet struct {
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

// key returns the signing key kid: from the cache while it is fresh, else
// after one fetch (at most one per jwksMinRefetch). An unknown kid is a
// *TokenError; keys that cannot be fetched at all are another error (the
// gateway answers 503).
func (j *jwks) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	now := j.now()
	if s := j.cur.Load(); s != nil && now.Sub(s.fetched) < jwksMaxAge {
		if k, ok := s.keys[kid]; ok {
			return k, nil
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.cur.Load()
	var k *rsa.PublicKey
	if s != nil {
		k = s.keys[kid]
		if k != nil && now.Sub(s.fetched) < jwksMaxAge {
			return k, nil // fetched while we waited
		}
	}
	if !j.lastTry.IsZero() && now.Sub(j.lastTry) < jwksMinRefetch {
		switch {
		case k != nil:
			return k, nil
		case s == nil && j.lastErr != nil:
			return nil, j.lastErr
		}
		return nil, errUnknownKid
	}
	j.lastTry = now
	keys, err := j.fetch(ctx)
	if err != nil {
		j.lastErr = err
		if k != nil {
			return k, nil // keep using a stale key rather than fail everyone
		}
		return nil, err
	}
	j.lastErr = nil
	j.cur.Store(&keySet{keys: keys, fetched: now})
	if k := keys[kid]; k != nil {
		return k, nil
	}
	return nil, errUnknownKid
}

var errUnknownKid = &TokenError{Reason: "signed with an unknown key"}

func (j *jwks) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	if j.url == "" {
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := j.getJSON(ctx, j.metadataURL, &meta); err != nil {
			return nil, fmt.Errorf("entra openid configuration: %w", err)
		}
		if meta.JWKSURI == "" {
			return nil, errors.New("entra openid configuration: no jwks_uri")
		}
		j.url = meta.JWKSURI
	}
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Use string `json:"use"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := j.getJSON(ctx, j.url, &doc); err != nil {
		return nil, fmt.Errorf("entra signing keys: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(doc.Keys))
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		return nil, errors.New("entra signing keys: no RSA signing key in the document")
	}
	return keys, nil
}

func (j *jwks) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBody)).Decode(v)
}
