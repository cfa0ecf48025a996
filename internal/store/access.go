package store

import (
	"context"
	"time"
)

// Key is a stored client key. The key itself is never stored: only its
// SHA-256 hash, and a short prefix to recognise it by in lists.
//
// An attendee key is a Key with EventID and Attendee set: one per attendee
// of an event, unique on (EventID, Attendee).
type Key struct {
	ID string
	// Hash is the SHA-256 of the key, 32 bytes; unique across keys. The
	// store refuses any other length, which also keeps a plaintext key out.
	Hash []byte
	// Prefix is the key's first characters ("sk-AbCd"), for display.
	Prefix string
	Name   string
	Owner  string
	// Team is a free-text label; TeamID is the team (Team.ID) whose
	// limits, allow-list and budgets also apply, "" for none.
	Team   string
	TeamID string
	// Models is the allow-list; empty allows every model.
	Models []string
	// RPM and TPM limit requests and tokens per minute; 0 is unlimited.
	RPM int
	TPM int
	// MaxTokens caps a request's max_tokens; 0 is no cap.
	MaxTokens int
	// MaxParallel caps the key's requests in flight at once, across
	// replicas; 0 is no cap.
	MaxParallel int
	// BudgetTokens and BudgetCost (USD) limit usage per BudgetPeriod;
	// 0 is no budget.
	BudgetTokens int64
	BudgetCost   float64
	// BudgetPeriod is "day", "week" or "month" (UTC); "" with a budget
	// means the budget never resets.
	BudgetPeriod string
	// ExpiresAt is when the key stops working; zero is never.
	ExpiresAt time.Time
	// RevokedAt is when the key was revoked; zero while it is valid.
	RevokedAt time.Time
	// LogPayloads stores this key's prompts and answers with its usage.
	LogPayloads bool
	// Metadata is free-form JSON-able data from the operator. It is
	// stored as JSON, so numbers come back as float64.
	Metadata map[string]any
	// EventID and Attendee are set on attendee keys.
	EventID  string
	Attendee string
	// Generation counts how often an attendee's key was reissued; the key
	// is derived from (event, attendee, generation).
	Generation int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// KeyFilter selects keys for ListKeys; zero values select everything.
type KeyFilter struct {
	// EventID selects the attendee keys of one event.
	EventID string
	// TeamID selects the keys of one team. Setting both is an error.
	TeamID string
}

// Event is time-boxed access for attendees (DESIGN.md "event").
type Event struct {
	// ID is the event's code, also the seed's event_code.
	ID          string
	Name        string
	Description string // markdown
	// Start and End bound the event, in UTC; TimeZone is the IANA name the
	// organiser gave them in, kept for display. Like every time in the
	// store they are kept to the millisecond, and zero stays zero.
	Start    time.Time
	End      time.Time
	TimeZone string
	// MaxTokenCap caps max_tokens per request; 0 is no cap.
	MaxTokenCap int
	// DailyRequestCap limits requests per attendee per UTC day; 0 is none.
	DailyRequestCap int
	// Models is the allow-list; empty allows every model.
	Models         []string
	OrganizerName  string
	OrganizerEmail string
	URL            string
	URLText        string
	// SharedCodeHash is the SHA-256 of the self-registration code, 32
	// bytes; empty means attendees cannot self-register.
	SharedCodeHash []byte
	Active         bool
	// LogPayloads stores the event's prompts and answers with its usage.
	LogPayloads bool
	// SignInRegistration lets attendees register by signing in with an
	// identity provider; SignInDomains, when set, admits only verified
	// emails of those domains.
	SignInRegistration bool
	SignInDomains      []string
	// Owner is the admin identity that created the event; an organiser
	// sees and changes only the events they own. "" for none.
	Owner     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AccessStore is the part of the store that holds keys and events. Every
// change bumps the same revision as deployment changes, so a replica that
// polls the revision sees a revocation within one poll.
type AccessStore interface {
	TeamStore

	// CreateKey stores k (ErrConflict when its id, hash, or event and
	// attendee are taken; ErrNotFound when its team does not exist) and
	// returns it with timestamps set.
	CreateKey(ctx context.Context, k Key) (Key, error)
	// GetKey returns one key or ErrNotFound.
	GetKey(ctx context.Context, id string) (Key, error)
	// KeyByHash returns the key with that hash or ErrNotFound.
	KeyByHash(ctx context.Context, hash []byte) (Key, error)
	// AttendeeKey returns the key of an event's attendee or ErrNotFound;
	// an empty eventID finds no key.
	AttendeeKey(ctx context.Context, eventID, attendee string) (Key, error)
	// ListKeys returns the keys f selects, ordered by id.
	ListKeys(ctx context.Context, f KeyFilter) ([]Key, error)
	// UpdateKey replaces the key with k.ID (ErrNotFound when it or its
	// team is absent, ErrConflict when the new hash is taken), keeping
	// CreatedAt.
	UpdateKey(ctx context.Context, k Key) (Key, error)
	// DeleteKey removes it, or returns ErrNotFound.
	DeleteKey(ctx context.Context, id string) error

	// CreateEvent stores e (ErrConflict when the id exists).
	CreateEvent(ctx context.Context, e Event) (Event, error)
	// GetEvent returns one event or ErrNotFound.
	GetEvent(ctx context.Context, id string) (Event, error)
	// ListEvents returns every event, ordered by start then id.
	ListEvents(ctx context.Context) ([]Event, error)
	// UpdateEvent replaces the event with e.ID (ErrNotFound when absent),
	// keeping CreatedAt.
	UpdateEvent(ctx context.Context, e Event) (Event, error)
	// DeleteEvent removes the event and its attendee keys, or returns
	// ErrNotFound.
	DeleteEvent(ctx context.Context, id string) error
}
