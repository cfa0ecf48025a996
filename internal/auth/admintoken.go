package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
)

// AdminTokenSetting is the store setting that holds the admin token's
// SHA-256, hex-encoded. The token itself is never stored.
const AdminTokenSetting = "admin_token_sha256"

// AdminToken checks the management API's bearer token against a hash held
// in memory. It is safe for concurrent use; the hash can be swapped when
// the token is rotated on another replica.
type AdminToken struct {
	hash atomic.Pointer[[sha256.Size]byte]
}

// Check reports, in constant time, whether presented is the admin token.
// Without a token, nothing passes.
func (a *AdminToken) Check(presented string) bool {
	want := a.hash.Load()
	if want == nil || presented == "" {
		return false
	}
	got := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// SetToken installs a plaintext token (from config or environment).
func (a *AdminToken) SetToken(token string) {
	h := sha256.Sum256([]byte(token))
	a.hash.Store(&h)
}

// SetHash installs a hex SHA-256 as read from the store.
func (a *AdminToken) SetHash(hexHash string) error {
	b, err := hex.DecodeString(hexHash)
	if err != nil || len(b) != sha256.Size {
		return errors.New("stored admin token hash is malformed")
	}
	var h [sha256.Size]byte
	copy(h[:], b)
	a.hash.Store(&h)
	return nil
}

// NewAdminToken returns a fresh random token.
func NewAdminToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "sk-admin-" + hex.EncodeToString(b[:])
}

// HashHex returns the stored form of a token.
func HashHex(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Settings is the part of the store the admin token needs.
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

// EnsureAdminToken loads the admin token's hash from s into a, or, when
// the store has none yet, generates a token, stores its hash and returns
// the plaintext (for the caller to print once). notFound is the store's
// not-found sentinel.
func EnsureAdminToken(ctx context.Context, s Settings, a *AdminToken, notFound error) (generated string, err error) {
	v, err := s.Setting(ctx, AdminTokenSetting)
	switch {
	case err == nil:
		return "", a.SetHash(v)
	case !errors.Is(err, notFound):
		return "", fmt.Errorf("read admin token: %w", err)
	}
	token := NewAdminToken()
	if err := s.SetSetting(ctx, AdminTokenSetting, HashHex(token)); err != nil {
		return "", fmt.Errorf("store admin token: %w", err)
	}
	a.SetToken(token)
	return token, nil
}

// RotateAdminToken stores a new token's hash and returns the token.
func RotateAdminToken(ctx context.Context, s Settings) (string, error) {
	token := NewAdminToken()
	if err := s.SetSetting(ctx, AdminTokenSetting, HashHex(token)); err != nil {
		return "", fmt.Errorf("store admin token: %w", err)
	}
	return token, nil
}

// SessionKey returns the key that signs admin portal sessions: derived
// from the admin token's hash and the gateway's secret key (nil when
// unset), so every replica derives the same one, a rotated token ends
// every session, and a copy of the store alone cannot forge one when a
// secret key is set. Nil while there is no token.
func (a *AdminToken) SessionKey(secret []byte) []byte {
	h := a.hash.Load()
	if h == nil {
		return nil
	}
	m := hmac.New(sha256.New, append([]byte("spillway admin session\x00"), secret...))
	m.Write(h[:])
	return m.Sum(nil)
}
