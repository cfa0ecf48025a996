package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// testKey is 32 bytes 0x00..0x1f.
var testKey = func() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}()

func TestParseSecretKey(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"hex", hex.EncodeToString(testKey)},
		{"upper hex", strings.ToUpper(hex.EncodeToString(testKey))},
		{"base64", base64.StdEncoding.EncodeToString(testKey)},
		{"base64 unpadded", base64.RawStdEncoding.EncodeToString(testKey)},
		{"base64url", base64.URLEncoding.EncodeToString(testKey)},
		{"base64url unpadded", base64.RawURLEncoding.EncodeToString(testKey)},
		{"trailing newline", hex.EncodeToString(testKey) + "\n"},
	} {
		got, err := ParseSecretKey(tc.in)
		if err != nil || !bytes.Equal(got, testKey) {
			t.Errorf("%s: ParseSecretKey = %x, %v; want %x, nil", tc.name, got, err, testKey)
		}
	}
}

func TestParseSecretKeyErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "  ", "empty"},
		{"short hex", hex.EncodeToString(testKey[:16]), "32 hex characters (16 bytes)"},
		{"long hex", hex.EncodeToString(append(testKey, 1)), "66 hex characters (33 bytes)"},
		{"long base64", base64.StdEncoding.EncodeToString(append(testKey, 1)), "base64 to 33 bytes"},
		{"hex with a typo", "zz" + hex.EncodeToString(testKey)[2:], "base64 to 48 bytes"},
		{"neither", "not a key!", "neither hex nor base64"},
	} {
		_, err := ParseSecretKey(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ParseSecretKey error = %v, want it to contain %q", tc.name, err, tc.want)
			continue
		}
		if in := strings.TrimSpace(tc.in); in != "" && strings.Contains(err.Error(), in) {
			t.Errorf("%s: error %q quotes the input", tc.name, err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	s, err := newSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	const plaintext = "sk-upstream-secret"
	env, err := s.seal(plaintext, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(env, envelopeV1) || strings.Contains(env, plaintext) {
		t.Errorf("envelope %q: want a v1: prefix and no plaintext", env)
	}
	if got, err := s.open(env, "d1"); err != nil || got != plaintext {
		t.Errorf("open = %q, %v; want %q, nil", got, err, plaintext)
	}
	if again, _ := s.seal(plaintext, "d1"); again == env {
		t.Error("sealing twice gave the same envelope; want a fresh nonce")
	}

	other, err := newSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(env, envelopeV1))
	ct[len(ct)-1] ^= 1
	tampered := envelopeV1 + base64.StdEncoding.EncodeToString(ct)
	for _, tc := range []struct {
		name     string
		s        sealer
		env, id  string
		want     error
		wantText string
	}{
		{"another record", s, env, "d2", ErrDecrypt, ""},
		{"another key", other, env, "d1", ErrDecrypt, ""},
		{"tampered", s, tampered, "d1", ErrDecrypt, ""},
		{"no key", sealer{}, env, "d1", ErrNoSecretKey, ""},
		{"plaintext in the column", s, plaintext, "d1", ErrDecrypt, "unknown envelope version"},
		{"bad base64", s, envelopeV1 + "!!!", "d1", ErrDecrypt, "malformed"},
		{"too short", s, envelopeV1 + "AAAA", "d1", ErrDecrypt, "too short"},
	} {
		_, err := tc.s.open(tc.env, tc.id)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantText) {
			t.Errorf("%s: open error = %v, want %v containing %q", tc.name, err, tc.want, tc.wantText)
		}
	}

	if _, err := (sealer{}).seal(plaintext, "d1"); !errors.Is(err, ErrNoSecretKey) {
		t.Errorf("seal without a key: error = %v, want ErrNoSecretKey", err)
	}
}
