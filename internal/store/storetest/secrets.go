package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/store"
)

func (s suite) keyEncryptedAtRest(t *testing.T) {
	st := s.store(t, newKey())
	a, b := sample("a"), sample("b")
	b.APIKey = a.APIKey
	mustCreate(t, st, a)
	mustCreate(t, st, b)

	rawA, rawB := rawKey(t, st, "a"), rawKey(t, st, "b")
	if len(rawA) == 0 {
		t.Fatal("stored key is empty; want the encrypted key")
	}
	if bytes.Contains(rawA, []byte(a.APIKey)) || bytes.Contains(rawA, []byte("sk-plaintext")) {
		t.Errorf("stored key %q contains the plaintext", rawA)
	}
	if bytes.Equal(rawA, rawB) {
		t.Error("the same key stored twice has the same ciphertext; want a fresh nonce per value")
	}
	got, err := st.GetDeployment(t.Context(), "a")
	if err != nil || got.APIKey != a.APIKey {
		t.Errorf("GetDeployment key = %q, %v; want the plaintext back", got.APIKey, err)
	}
}

func (s suite) noSecretKey(t *testing.T) {
	st := s.store(t, nil)
	ctx := t.Context()
	if _, err := st.CreateDeployment(ctx, sample("k")); !errors.Is(err, store.ErrNoSecretKey) {
		t.Errorf("CreateDeployment with a key and no secret key: error = %v, want ErrNoSecretKey", err)
	}
	keyless := sample("k")
	keyless.APIKey = ""
	mustCreate(t, st, keyless)
	if _, err := st.UpdateDeployment(ctx, sample("k")); !errors.Is(err, store.ErrNoSecretKey) {
		t.Errorf("UpdateDeployment with a key and no secret key: error = %v, want ErrNoSecretKey", err)
	}
	if got, err := st.GetDeployment(ctx, "k"); err != nil || got.APIKey != "" {
		t.Errorf("GetDeployment of a keyless deployment = %q, %v; want \"\", nil", got.APIKey, err)
	}
}

// wrongSecretKey checks that a key stored under one secret never comes back
// as ciphertext, or in an error, when read with another secret or none.
func (s suite) wrongSecretKey(t *testing.T) {
	writer := s.store(t, newKey())
	d := sample("locked")
	mustCreate(t, writer, d)
	raw := string(rawKey(t, writer, "locked"))

	// Readers are opened with this t: a subtest's t would get a new database.
	for _, tc := range []struct {
		name   string
		reader store.Store
		want   error
	}{
		{"another secret key", s.store(t, newKey()), store.ErrDecrypt},
		{"no secret key", s.store(t, nil), store.ErrNoSecretKey},
	} {
		_, err := tc.reader.GetDeployment(t.Context(), "locked")
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: GetDeployment error = %v, want %v", tc.name, err, tc.want)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, d.APIKey) || strings.Contains(msg, raw) {
			t.Errorf("%s: error %q quotes the key or its ciphertext", tc.name, msg)
		}
		if _, err := tc.reader.ListDeployments(t.Context()); !errors.Is(err, tc.want) {
			t.Errorf("%s: ListDeployments error = %v, want %v", tc.name, err, tc.want)
		}
	}
}
