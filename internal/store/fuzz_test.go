package store

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseSecretKey checks that no input panics and that every accepted
// key is 32 bytes.
func FuzzParseSecretKey(f *testing.F) {
	for _, s := range []string{
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"", " ", "====", "-_", "zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseSecretKey(s)
		if err == nil && len(key) != 32 {
			t.Errorf("ParseSecretKey(%q) = %d bytes, want 32", s, len(key))
		}
	})
}

// FuzzOpenEnvelope checks that no stored value makes decryption panic or
// succeed without the key, and that whatever is sealed opens again.
func FuzzOpenEnvelope(f *testing.F) {
	s, err := newSealer(testKey)
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := s.seal("sk-secret", "d1")
	for _, env := range []string{sealed, "", "v1:", "v1:AAAA", "v2:AAAA", "v1:!!", sealed[:len(sealed)-4]} {
		f.Add(env, []byte("sk-secret"))
	}
	f.Fuzz(func(t *testing.T, env string, plaintext []byte) {
		if _, err := s.open(env, "d1"); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Errorf("open error = %v, want ErrDecrypt", err)
		}
		if _, err := (sealer{}).open(env, "d1"); !errors.Is(err, ErrNoSecretKey) {
			t.Errorf("open without a key: error = %v, want ErrNoSecretKey", err)
		}
		env, err := s.seal(string(plaintext), "d1")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.open(env, "d1")
		if err != nil || !bytes.Equal([]byte(got), plaintext) {
			t.Errorf("open(seal(%q)) = %q, %v", plaintext, got, err)
		}
	})
}
