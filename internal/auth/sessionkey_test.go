package auth_test

import (
	"bytes"
	"testing"

	"github.com/spillwayhq/spillway/internal/auth"
)

// TestSessionKey: the same token and secret give the same key on every
// replica; another token or another secret gives another key.
func TestSessionKey(t *testing.T) {
	var none auth.AdminToken
	if k := none.SessionKey(nil); k != nil {
		t.Errorf("SessionKey without a token = %x, want nil", k)
	}
	var a, b, c auth.AdminToken
	a.SetToken("sk-admin-1")
	if err := b.SetHash(auth.HashHex("sk-admin-1")); err != nil {
		t.Fatal(err)
	}
	c.SetToken("sk-admin-2")
	secret := []byte("0123456789abcdef0123456789abcdef")
	if !bytes.Equal(a.SessionKey(secret), b.SessionKey(secret)) {
		t.Error("a token and its stored hash derive different keys")
	}
	if bytes.Equal(a.SessionKey(secret), c.SessionKey(secret)) {
		t.Error("a rotated token derives the same key")
	}
	if bytes.Equal(a.SessionKey(secret), a.SessionKey(nil)) {
		t.Error("the secret key does not change the session key")
	}
}
