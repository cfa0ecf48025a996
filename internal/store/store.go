// Package store persists what operators change at runtime: deployments
// created through the management APIs and gateway settings such as the
// admin token's hash; and it keeps the usage record of every request,
// aggregated on demand for chargeback and the dashboard. One SQL
// implementation serves SQLite and PostgreSQL through a dialect each;
// upstream keys are encrypted at rest with AES-256-GCM. Every change bumps
// a revision so replicas can tell, with one cheap query, that they must
// reload.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/spillwayhq/spillway/internal/usage"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound means no record has that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a record with that key already exists.
	ErrConflict = errors.New("already exists")
	// ErrNoSecretKey means an upstream key was to be stored but the store
	// has no encryption key (SPILLWAY_SECRET_KEY).
	ErrNoSecretKey = errors.New("no secret key: set SPILLWAY_SECRET_KEY to 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`) to store upstream keys encrypted")
	// ErrSchemaTooNew means the database was migrated by a newer binary.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary knows; upgrade spillway")
)

// Deployment is a deployment created through a management API. Field
// meanings match config.Deployment.
type Deployment struct {
	ID           string
	Model        string
	Class        string
	Provider     string
	Endpoint     string
	ResourceName string
	Deployment   string
	APIVersion   string
	// APIKey is the plaintext upstream key, in memory only: the database
	// holds it encrypted.
	APIKey    string
	Priority  int
	Weight    int
	RPM       int
	TPM       int
	Active    bool
	ModelInfo map[string]any
	// Origin names the API that created it: "native", "seed", "litellm".
	Origin    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store is the persistence the gateway needs. Implementations are safe for
// concurrent use.
type Store interface {
	AccessStore
	IdentityStore
	ObjectStore

	// ListDeployments returns every stored deployment, ordered by id.
	ListDeployments(ctx context.Context) ([]Deployment, error)
	// GetDeployment returns one deployment or ErrNotFound.
	GetDeployment(ctx context.Context, id string) (Deployment, error)
	// CreateDeployment stores d (ErrConflict when the id exists) and
	// returns it with timestamps set.
	CreateDeployment(ctx context.Context, d Deployment) (Deployment, error)
	// UpdateDeployment replaces the deployment with d.ID (ErrNotFound when
	// absent), keeping CreatedAt.
	UpdateDeployment(ctx context.Context, d Deployment) (Deployment, error)
	// DeleteDeployment removes it, or returns ErrNotFound.
	DeleteDeployment(ctx context.Context, id string) error

	// Revision returns a number that grows with every change to stored
	// deployments, keys and events, on any replica.
	Revision(ctx context.Context) (int64, error)

	// Setting returns a gateway setting or ErrNotFound; SetSetting writes
	// one. Used for the admin token's hash.
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	// InsertUsage appends records in one transaction: when it fails, none
	// of them is stored. A call with the same records as one that
	// committed within the last week stores nothing, so a retry after an
	// answer was lost (a timeout during the commit) does not write the
	// batch twice; for records with unique request ids only a retry can be
	// such a call. Strings are stored as valid UTF-8 without NUL bytes, so
	// no record's content can make a batch fail. A record with a request
	// id and a Prompt or Response also stores a Payload, in the same
	// transaction; a request id that has one already keeps it.
	InsertUsage(ctx context.Context, records []usage.Record) error
	// QueryUsage aggregates the records of q's time range, filtered and
	// grouped as q says; see UsageQuery and UsageRow.
	QueryUsage(ctx context.Context, q UsageQuery) ([]UsageRow, error)
	// ExportUsage calls fn with every raw record of [from, to), in time
	// order, streaming: no more than one record is held at a time.
	ExportUsage(ctx context.Context, from, to time.Time, fn func(*usage.Record) error) error
	// PurgeUsage deletes up to limit raw records older than before and
	// returns how many; rollups are kept. Call it until it returns 0.
	// Where raw records are partitioned by day (PostgreSQL) it drops every
	// partition whose day ended before before, whatever limit, keeps the
	// day that holds before whole, and creates the partitions ahead.
	PurgeUsage(ctx context.Context, before time.Time, limit int) (int64, error)
	// RollUpUsageBacklog rolls up one chunk of the records written before
	// rollups existed and returns how many it moved, 0 once there are none
	// left; until then QueryUsage reads raw records. UsageBacklog counts
	// the records left.
	RollUpUsageBacklog(ctx context.Context) (int64, error)
	UsageBacklog(ctx context.Context) (int64, error)
	// CompactUsageWeeks builds the weekly rollups of up to limit weeks
	// (Monday 00:00 UTC to Monday) ended by now that have none or stale
	// ones, newest first, from their daily rollups; it returns how many
	// it built and how many are left. Reads use a week's weekly rows
	// while they hold every record of the week, its daily rows otherwise.
	CompactUsageWeeks(ctx context.Context, now time.Time, limit int) (built, left int, err error)

	// Payload returns the logged prompt and answer of a request, or
	// ErrNotFound.
	Payload(ctx context.Context, requestID string) (Payload, error)
	// ListPayloads returns the payloads q selects, newest first.
	ListPayloads(ctx context.Context, q PayloadQuery) ([]Payload, error)
	// PurgePayloads deletes the payloads of requests that arrived before
	// before and returns how many it deleted.
	PurgePayloads(ctx context.Context, before time.Time) (int64, error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}
