package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
	"github.com/spillwayhq/spillway/internal/store"
)

// hashOf is a key's stored hash.
func hashOf(key string) []byte {
	h := auth.Hash(key)
	return h[:]
}

// keyringNow is the keyring tests' clock reading.
var keyringNow = time.Date(2026, 10, 4, 12, 0, 0, 0, time.UTC)

func TestKeyringAuthenticate(t *testing.T) {
	sydney, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	events := []store.Event{
		{
			ID: "hack", Name: "Hack Day", Description: "not for the gateway",
			Start:    time.Date(2026, 10, 3, 9, 0, 0, 0, sydney),
			End:      time.Date(2026, 10, 5, 17, 0, 0, 0, sydney),
			TimeZone: "Australia/Sydney", MaxTokenCap: 500, DailyRequestCap: 50,
			Models: []string{"gpt-4o-mini"}, Active: true, LogPayloads: true,
		},
		{ID: "quiet", Name: "Quiet", Start: keyringNow, End: keyringNow.Add(time.Hour), Active: true},
	}
	keys := []store.Key{
		{
			ID: "key-full", Hash: hashOf("sk-full"), Prefix: "sk-full", Name: "research", Owner: "ana", Team: "ml",
			Models: []string{"gpt-4o", "o3"}, RPM: 60, TPM: 100_000, MaxTokens: 4096,
			BudgetTokens: 1_000_000, BudgetCost: 25.5, BudgetPeriod: "month", LogPayloads: true,
			Metadata: map[string]any{"cost-centre": "42"},
		},
		{ID: "key-revoked", Hash: hashOf("sk-revoked"), RevokedAt: keyringNow.Add(-time.Hour), ExpiresAt: keyringNow.Add(-2 * time.Hour)},
		{ID: "key-expired", Hash: hashOf("sk-expired"), ExpiresAt: keyringNow},
		{ID: "key-expiring", Hash: hashOf("sk-expiring"), ExpiresAt: keyringNow.Add(time.Nanosecond)},
		{ID: "key-revoked-later", Hash: hashOf("sk-revoked-later"), RevokedAt: keyringNow.Add(time.Hour)},
		{ID: "att-alice", Hash: hashOf("sk-alice"), Name: "alice", EventID: "hack", Attendee: "alice@example.com", Generation: 2},
		{ID: "att-bob", Hash: hashOf("sk-bob"), EventID: "quiet", Attendee: "bob@example.com", LogPayloads: true},
		{ID: "att-carol", Hash: hashOf("sk-carol"), EventID: "quiet", Attendee: "carol@example.com"},
		{ID: "att-orphan", Hash: hashOf("sk-orphan"), EventID: "deleted", Attendee: "dan@example.com"},
		{ID: "key-short-hash", Hash: hashOf("sk-short")[:16]},
		{ID: "key-plaintext", Hash: []byte("sk-plaintext")},
	}
	hack := &auth.Event{
		ID: "hack", Name: "Hack Day",
		Start:    time.Date(2026, 10, 2, 23, 0, 0, 0, time.UTC),
		End:      time.Date(2026, 10, 5, 6, 0, 0, 0, time.UTC),
		TimeZone: "Australia/Sydney", MaxTokenCap: 500, DailyRequestCap: 50,
		Models: []string{"gpt-4o-mini"}, Active: true,
	}
	quiet := &auth.Event{ID: "quiet", Name: "Quiet", Start: keyringNow, End: keyringNow.Add(time.Hour), Active: true}

	k := auth.NewKeyring(auth.NewStaticKeys([]auth.StaticKey{{Key: "sk-static", Name: "ops", LogPayloads: true}}),
		limitstest.NewClock(keyringNow).Now)
	k.Load(keys, events)
	if got, want := k.Len(), len(keys)-3; got != want {
		t.Errorf("Len() = %d, want %d (the orphan and the malformed hashes left out)", got, want)
	}

	tests := []struct {
		name    string
		key     string
		want    *auth.Principal
		wantErr error // compared with errors.Is, or a *KeyStateError with cmp
	}{
		{"static", "sk-static", &auth.Principal{KeyID: "static:ops", Name: "ops", LogPayloads: true}, nil},
		{"stored", "sk-full", &auth.Principal{
			KeyID: "key-full", Name: "research", LogPayloads: true,
			Models: []string{"gpt-4o", "o3"}, RPM: 60, TPM: 100_000, MaxTokens: 4096,
			BudgetTokens: 1_000_000, BudgetCost: 25.5, BudgetPeriod: "month",
		}, nil},
		{"revoked, also expired", "sk-revoked", nil, &auth.KeyStateError{KeyID: "key-revoked", Revoked: true, At: keyringNow.Add(-time.Hour)}},
		{"expired at exactly ExpiresAt", "sk-expired", nil, &auth.KeyStateError{KeyID: "key-expired", At: keyringNow}},
		{"a nanosecond before ExpiresAt", "sk-expiring", &auth.Principal{KeyID: "key-expiring"}, nil},
		// A revocation time is a fact, not a schedule.
		{"revoked with a future time", "sk-revoked-later", nil, &auth.KeyStateError{KeyID: "key-revoked-later", Revoked: true, At: keyringNow.Add(time.Hour)}},
		{"attendee, event logs payloads", "sk-alice", &auth.Principal{
			KeyID: "att-alice", Name: "alice", LogPayloads: true, Event: hack, Attendee: "alice@example.com",
		}, nil},
		{"attendee, key logs payloads", "sk-bob", &auth.Principal{KeyID: "att-bob", LogPayloads: true, Event: quiet, Attendee: "bob@example.com"}, nil},
		{"attendee, nothing logged", "sk-carol", &auth.Principal{KeyID: "att-carol", Event: quiet, Attendee: "carol@example.com"}, nil},
		{"attendee of a missing event", "sk-orphan", nil, auth.ErrInvalidKey},
		{"short hash", "sk-short", nil, auth.ErrInvalidKey},
		{"plaintext in the hash", "sk-plaintext", nil, auth.ErrInvalidKey},
		{"unknown", "sk-unknown", nil, auth.ErrInvalidKey},
		{"empty", "", nil, auth.ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := k.Authenticate(context.Background(), tt.key)
			var wantState *auth.KeyStateError
			switch {
			case errors.As(tt.wantErr, &wantState):
				var got *auth.KeyStateError
				if !errors.As(err, &got) {
					t.Fatalf("Authenticate(%q) = %v, %v; want a *KeyStateError", tt.key, p, err)
				}
				if diff := cmp.Diff(wantState, got); diff != "" {
					t.Errorf("KeyStateError (-want +got):\n%s", diff)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Authenticate(%q) = %v, %v; want %v", tt.key, p, err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Authenticate(%q) = %v, want a principal", tt.key, err)
			}
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
			if p != nil && p.Event != nil && (p.Event.Start.Location() != time.UTC || p.Event.End.Location() != time.UTC) {
				t.Errorf("event bounds in %v and %v, want UTC", p.Event.Start.Location(), p.Event.End.Location())
			}
		})
	}
}

func TestKeyStateErrorMessage(t *testing.T) {
	at := time.Date(2026, 10, 4, 13, 0, 0, 0, time.FixedZone("AEDT", 11*3600))
	tests := []struct {
		err  *auth.KeyStateError
		want string
	}{
		{&auth.KeyStateError{KeyID: "key-1", Revoked: true, At: at}, "API key key-1 was revoked at 2026-10-04T02:00:00Z"},
		{&auth.KeyStateError{KeyID: "key-1", At: at}, "API key key-1 expired at 2026-10-04T02:00:00Z"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestKeyringExpiryFollowsClock: a key works until its expiry on the
// keyring's clock, with no Load in between.
func TestKeyringExpiryFollowsClock(t *testing.T) {
	clock := limitstest.NewClock(keyringNow)
	k := auth.NewKeyring(nil, clock.Now)
	expires := keyringNow.Add(time.Hour)
	k.Load([]store.Key{{ID: "key-1", Hash: hashOf("sk-1"), ExpiresAt: expires}}, nil)
	ctx := context.Background()

	clock.Advance(time.Hour - time.Millisecond)
	if _, err := k.Authenticate(ctx, "sk-1"); err != nil {
		t.Fatalf("a millisecond before expiry: %v, want ok", err)
	}
	clock.Advance(time.Millisecond)
	_, err := k.Authenticate(ctx, "sk-1")
	var state *auth.KeyStateError
	if !errors.As(err, &state) || state.Revoked || !state.At.Equal(expires) {
		t.Fatalf("at expiry: %v, want an expired *KeyStateError at %v", err, expires)
	}
}

// TestKeyringStaticFirst: the config's keys answer before the stored ones
// and keep working with no stored keys at all.
func TestKeyringStaticFirst(t *testing.T) {
	k := auth.NewKeyring(auth.NewStaticKeys([]auth.StaticKey{{Key: "sk-same", Name: "config"}}), nil)
	ctx := context.Background()
	if p, err := k.Authenticate(ctx, "sk-same"); err != nil || p.KeyID != "static:config" {
		t.Fatalf("before Load: %v, %v; want the static key", p, err)
	}
	k.Load([]store.Key{{ID: "stored", Hash: hashOf("sk-same"), RevokedAt: keyringNow}}, nil)
	if p, err := k.Authenticate(ctx, "sk-same"); err != nil || p.KeyID != "static:config" {
		t.Errorf("after Load: %v, %v; want the static key", p, err)
	}
	if _, err := k.Authenticate(ctx, "sk-other"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("unknown key: %v, want %v", err, auth.ErrInvalidKey)
	}
}

func TestKeyringLoadReplaces(t *testing.T) {
	ctx := context.Background()
	k := auth.NewKeyring(nil, nil)
	if _, err := k.Authenticate(ctx, "sk-a"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("before any Load: %v, want %v", err, auth.ErrInvalidKey)
	}
	a := store.Key{ID: "a", Hash: hashOf("sk-a"), RPM: 1}
	b := store.Key{ID: "b", Hash: hashOf("sk-b")}
	k.Load([]store.Key{a, b}, nil)
	for _, key := range []string{"sk-a", "sk-b"} {
		if _, err := k.Authenticate(ctx, key); err != nil {
			t.Errorf("Authenticate(%q) after the first Load: %v", key, err)
		}
	}

	// a removed, b's limit changed.
	b.RPM = 7
	k.Load([]store.Key{b}, nil)
	if got := k.Len(); got != 1 {
		t.Errorf("Len() = %d, want 1", got)
	}
	if _, err := k.Authenticate(ctx, "sk-a"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("removed key: %v, want %v", err, auth.ErrInvalidKey)
	}
	if p, err := k.Authenticate(ctx, "sk-b"); err != nil || p.RPM != 7 {
		t.Errorf("kept key: %+v, %v; want RPM 7", p, err)
	}

	// Revoking is a Load too.
	b.RevokedAt = keyringNow
	k.Load([]store.Key{b}, nil)
	var state *auth.KeyStateError
	if _, err := k.Authenticate(ctx, "sk-b"); !errors.As(err, &state) || !state.Revoked {
		t.Errorf("revoked key: %v, want a revoked *KeyStateError", err)
	}

	k.Load(nil, nil)
	if got := k.Len(); got != 0 {
		t.Errorf("Len() after an empty Load = %d, want 0", got)
	}
}

// TestKeyringConcurrentLoad runs Authenticate while Load swaps the keys
// (run with -race): a key in every set always works, one in every other
// set either works or is unknown, never anything else.
func TestKeyringConcurrentLoad(t *testing.T) {
	ctx := context.Background()
	k := auth.NewKeyring(nil, nil)
	always := store.Key{ID: "always", Hash: hashOf("sk-always")}
	flip := store.Key{ID: "flip", Hash: hashOf("sk-flip"), EventID: "ev"}
	events := []store.Event{{ID: "ev", Active: true}}
	k.Load([]store.Key{always}, events)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p, err := k.Authenticate(ctx, "sk-always"); err != nil || p.KeyID != "always" {
					errs <- errors.New("sk-always failed during a Load")
					return
				}
				p, err := k.Authenticate(ctx, "sk-flip")
				if (err != nil && !errors.Is(err, auth.ErrInvalidKey)) || (err == nil && (p.KeyID != "flip" || p.Event == nil)) {
					errs <- errors.New("sk-flip gave neither its principal nor ErrInvalidKey")
					return
				}
			}
		})
	}
	for i := range 500 {
		if i%2 == 0 {
			k.Load([]store.Key{always, flip}, events)
		} else {
			k.Load([]store.Key{always}, events)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
