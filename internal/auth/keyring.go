package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
)

// Event is what the gateway enforces of an attendee key's event. It is
// immutable once loaded: a change in the store loads a new one.
type Event struct {
	ID   string
	Name string
	// Start and End bound the event in UTC; TimeZone is the organiser's,
	// for messages.
	Start    time.Time
	End      time.Time
	TimeZone string
	// MaxTokenCap caps max_tokens per request; 0 is no cap.
	MaxTokenCap int
	// DailyRequestCap limits each attendee's requests per UTC day; 0 is
	// none.
	DailyRequestCap int
	// Models is the allow-list; empty allows every model.
	Models []string
	Active bool
}

// KeyStateError reports a stored key that exists but no longer works.
type KeyStateError struct {
	KeyID   string
	Revoked bool // else expired
	At      time.Time
}

func (e *KeyStateError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("API key %s was revoked at %s", e.KeyID, e.At.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("API key %s expired at %s", e.KeyID, e.At.UTC().Format(time.RFC3339))
}

// Keyring authenticates against the config file's static keys and the
// keys stored through the admin API. The stored keys are held as an
// immutable snapshot of hashes, swapped whole by Load whenever the store's
// revision moves (the catalog calls it), so a request never waits on the
// database and a revocation reaches every replica within one poll.
type Keyring struct {
	static *StaticKeys
	now    func() time.Time
	snap   atomic.Pointer[keySnapshot]
}

type keySnapshot struct {
	byHash map[[sha256.Size]byte]*storedKey
	byID   map[string]*storedKey // for KeyByID
}

type storedKey struct {
	hash      [sha256.Size]byte
	principal *Principal
	expiresAt time.Time
	revokedAt time.Time
}

var _ Authenticator = (*Keyring)(nil)

// NewKeyring returns a keyring with the static keys (nil for none) and no
// stored keys until Load. now is the clock expiry is judged by (time.Now
// when nil).
func NewKeyring(static *StaticKeys, now func() time.Time) *Keyring {
	if now == nil {
		now = time.Now
	}
	k := &Keyring{static: static, now: now}
	k.snap.Store(&keySnapshot{})
	return k
}

// Load is LoadAccess without teams: keys of a team are left out.
func (k *Keyring) Load(keys []store.Key, events []store.Event) {
	k.LoadAccess(keys, events, nil)
}

// LoadAccess replaces the stored keys with keys, resolving attendee keys'
// events from events and keys' teams from teams. A key whose hash is
// malformed, or whose event or team is missing, is left out: it cannot
// authenticate anyone, since the limits meant for it could not apply.
func (k *Keyring) LoadAccess(keys []store.Key, events []store.Event, teams []store.Team) {
	tms := loadTeams(teams)
	evs := make(map[string]*Event, len(events))
	for _, e := range events {
		evs[e.ID] = &Event{
			ID: e.ID, Name: e.Name, Start: e.Start.UTC(), End: e.End.UTC(), TimeZone: e.TimeZone,
			MaxTokenCap: e.MaxTokenCap, DailyRequestCap: e.DailyRequestCap,
			Models: e.Models, Active: e.Active,
		}
	}
	logEvent := make(map[string]bool, len(events))
	for _, e := range events {
		logEvent[e.ID] = e.LogPayloads
	}
	snap := &keySnapshot{
		byHash: make(map[[sha256.Size]byte]*storedKey, len(keys)),
		byID:   make(map[string]*storedKey, len(keys)),
	}
	for _, sk := range keys {
		if len(sk.Hash) != sha256.Size {
			continue
		}
		p := &Principal{
			KeyID: sk.ID, Name: sk.Name, LogPayloads: sk.LogPayloads,
			Models: sk.Models, RPM: sk.RPM, TPM: sk.TPM, MaxTokens: sk.MaxTokens, MaxParallel: sk.MaxParallel,
			BudgetTokens: sk.BudgetTokens, BudgetCost: sk.BudgetCost, BudgetPeriod: sk.BudgetPeriod,
			Attendee: sk.Attendee,
		}
		if sk.EventID != "" {
			ev, ok := evs[sk.EventID]
			if !ok {
				continue
			}
			p.Event = ev
			p.LogPayloads = p.LogPayloads || logEvent[sk.EventID]
		}
		if sk.TeamID != "" {
			tm, ok := tms[sk.TeamID]
			if !ok {
				continue
			}
			p.Team = tm
		}
		e := &storedKey{principal: p, expiresAt: sk.ExpiresAt, revokedAt: sk.RevokedAt}
		copy(e.hash[:], sk.Hash)
		snap.byHash[e.hash] = e
		snap.byID[sk.ID] = e
	}
	k.snap.Store(snap)
}

// Len returns how many stored keys are loaded.
func (k *Keyring) Len() int { return len(k.snap.Load().byHash) }

// Authenticate implements Authenticator: a static key first, then a stored
// one. A stored key that was revoked or has expired is answered with a
// *KeyStateError, so the client learns why, not just that it failed.
func (k *Keyring) Authenticate(_ context.Context, key string) (*Principal, error) {
	if key == "" {
		return nil, ErrNoKey
	}
	h := Hash(key)
	if k.static != nil {
		if p, ok := k.static.lookup(h); ok {
			return p, nil
		}
	}
	e, ok := k.snap.Load().byHash[h]
	if !ok || subtle.ConstantTimeCompare(e.hash[:], h[:]) != 1 {
		return nil, ErrInvalidKey
	}
	return k.usable(e)
}

// usable returns e's principal, or a *KeyStateError when e was revoked or
// has expired.
func (k *Keyring) usable(e *storedKey) (*Principal, error) {
	if !e.revokedAt.IsZero() {
		return nil, &KeyStateError{KeyID: e.principal.KeyID, Revoked: true, At: e.revokedAt}
	}
	if !e.expiresAt.IsZero() && !k.now().Before(e.expiresAt) {
		return nil, &KeyStateError{KeyID: e.principal.KeyID, At: e.expiresAt}
	}
	return e.principal, nil
}

// KeyByID returns the principal of a stored key by its id, or of a static
// key by name ("team-a" or "static:team-a"), so an Entra ID token mapped to
// a key id gets exactly that key's permissions and limits. A revoked or
// expired stored key answers as Authenticate would.
func (k *Keyring) KeyByID(ctx context.Context, id string) (*Principal, error) {
	if e, ok := k.snap.Load().byID[id]; ok {
		return k.usable(e)
	}
	if k.static != nil {
		return k.static.KeyByID(ctx, id)
	}
	return nil, ErrInvalidKey
}
