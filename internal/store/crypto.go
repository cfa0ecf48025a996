package store

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrDecrypt means a stored upstream key could not be decrypted: the
// secret key differs from the one it was stored with, or the stored value
// is damaged. Matched with errors.Is.
var ErrDecrypt = errors.New("cannot decrypt stored upstream key: SPILLWAY_SECRET_KEY is not the key it was stored with, or the stored value is damaged")

// envelopeV1 prefixes base64(nonce || AES-256-GCM ciphertext || tag). The
// version leaves room for a later key rotation or algorithm.
const envelopeV1 = "v1:"

// sealer encrypts upstream keys. The zero value has no key and refuses to
// seal or open.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (sealer, error) {
	if len(key) == 0 {
		return sealer{}, nil
	}
	if len(key) != 32 {
		return sealer{}, fmt.Errorf("store: secret key is %d bytes, want 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, fmt.Errorf("store: secret key: %w", err)
	}
	// A fresh random 12-byte nonce per value, prepended by Seal.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return sealer{}, fmt.Errorf("store: secret key: %w", err)
	}
	return sealer{aead: aead}, nil
}

// seal encrypts plaintext for the record named by id. The id is
// authenticated, so a ciphertext copied onto another record does not
// decrypt.
func (s sealer) seal(plaintext, id string) (string, error) {
	if s.aead == nil {
		return "", ErrNoSecretKey
	}
	ct := s.aead.Seal(nil, nil, []byte(plaintext), []byte(id))
	return envelopeV1 + base64.StdEncoding.EncodeToString(ct), nil
}

// open decrypts an envelope made by seal for the same id. Errors never
// quote the envelope.
func (s sealer) open(envelope, id string) (string, error) {
	if s.aead == nil {
		return "", ErrNoSecretKey
	}
	b64, ok := strings.CutPrefix(envelope, envelopeV1)
	if !ok {
		return "", fmt.Errorf("unknown envelope version: %w", ErrDecrypt)
	}
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("malformed envelope: %w", ErrDecrypt)
	}
	if len(ct) < s.aead.Overhead() {
		return "", fmt.Errorf("envelope too short: %w", ErrDecrypt)
	}
	pt, err := s.aead.Open(nil, nil, ct, []byte(id))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}
