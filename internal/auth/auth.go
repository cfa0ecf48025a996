// Package auth turns the credential a client presents into a Principal, the
// identity carried in the request context for routing, limits and usage.
// Keys are held only as SHA-256 hashes and compared in constant time.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Principal is an authenticated caller.
type Principal struct {
	// KeyID identifies the key in usage records; never the key itself.
	KeyID string
	// Name is the key's human name.
	Name string
	// LogPayloads asks for this caller's prompts and answers to be stored
	// with the usage records.
	LogPayloads bool

	// Models is the key's allow-list; empty allows every model.
	Models []string
	// RPM and TPM limit the key's requests and tokens per minute; 0 is
	// unlimited.
	RPM, TPM int
	// MaxTokens caps a request's max_tokens; 0 is no cap.
	MaxTokens int
	// MaxParallel caps the key's requests in flight at once, across
	// replicas; 0 is no cap.
	MaxParallel int
	// BudgetTokens and BudgetCost (USD) limit usage per BudgetPeriod
	// ("day", "week", "month", or "" for ever); 0 is no budget.
	BudgetTokens int64
	BudgetCost   float64
	BudgetPeriod string
	// Event is an attendee key's event, nil for other keys; Attendee is the
	// attendee's identity.
	Event    *Event
	Attendee string
	// Team is the key's team, nil for keys of no team: its allow-list,
	// limits and budgets apply on top of the key's.
	Team *Team
}

// ErrNoKey means the request carried no credential.
var ErrNoKey = errors.New("no API key provided")

// ErrInvalidKey means the credential matches no key.
var ErrInvalidKey = errors.New("invalid API key")

// Authenticator resolves a presented key.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (*Principal, error)
}

// KeyFromRequest returns the client's key from `Authorization: Bearer` or
// `api-key`, the OpenAI and Azure conventions.
func KeyFromRequest(r *http.Request) (string, error) {
	if v := r.Header.Get("Authorization"); v != "" {
		const prefix = "Bearer "
		if len(v) > len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) {
			return strings.TrimSpace(v[len(prefix):]), nil
		}
		return "", ErrInvalidKey
	}
	if v := r.Header.Get("Api-Key"); v != "" {
		return strings.TrimSpace(v), nil
	}
	return "", ErrNoKey
}

// Hash returns the stored form of a key.
func Hash(key string) [sha256.Size]byte { return sha256.Sum256([]byte(key)) }

// StaticKeys authenticates against a fixed list of keys from the config.
type StaticKeys struct {
	byHash map[[sha256.Size]byte]staticEntry
}

type staticEntry struct {
	hash      [sha256.Size]byte
	principal *Principal
}

var _ Authenticator = (*StaticKeys)(nil)

// StaticKey is one key of the static list.
type StaticKey struct {
	Key         string
	Name        string
	LogPayloads bool
}

// NewStaticKeys hashes the keys; the plaintext is not retained.
func NewStaticKeys(keys []StaticKey) *StaticKeys {
	s := &StaticKeys{byHash: make(map[[sha256.Size]byte]staticEntry, len(keys))}
	for i, k := range keys {
		if k.Key == "" {
			continue
		}
		name := k.Name
		if name == "" {
			name = "key-" + strconv.Itoa(i+1)
		}
		h := Hash(k.Key)
		s.byHash[h] = staticEntry{hash: h, principal: &Principal{KeyID: "static:" + name, Name: name, LogPayloads: k.LogPayloads}}
	}
	return s
}

// Authenticate implements Authenticator. The lookup is keyed by the hash, so
// its timing says nothing about the key; the final check is a constant-time
// compare of the hashes all the same.
func (s *StaticKeys) Authenticate(_ context.Context, key string) (*Principal, error) {
	if key == "" {
		return nil, ErrNoKey
	}
	p, ok := s.lookup(Hash(key))
	if !ok {
		return nil, ErrInvalidKey
	}
	return p, nil
}

// lookup returns the principal of the key whose hash is h.
func (s *StaticKeys) lookup(h [sha256.Size]byte) (*Principal, bool) {
	e, ok := s.byHash[h]
	if !ok || subtle.ConstantTimeCompare(e.hash[:], h[:]) != 1 {
		return nil, false
	}
	return e.principal, true
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
