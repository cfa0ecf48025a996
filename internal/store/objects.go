package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Object kinds in the registry.
const (
	KindFile         = "file"
	KindUpload       = "upload"
	KindBatch        = "batch"
	KindVectorStore  = "vector_store"
	KindConversation = "conversation"
	// KindResponse is a background response, followed until it is done.
	KindResponse = "response"
)

// Object is one object held upstream, as the gateway registered it.
type Object struct {
	// ID is the id the client knows (the gateway's signed id).
	ID   string
	Kind string
	// KeyID owns it; TeamID, EventID and Attendee are the key's when it
	// was made.
	KeyID, TeamID, EventID, Attendee string
	// Deployment holds it, under UpstreamID.
	Deployment string
	UpstreamID string
	// Purpose is a file's purpose ("batch", "assistants"), for filtering.
	Purpose string
	Status  string
	// Data is the object's JSON as the client last saw it.
	Data string
	// Done is true once the object will not change any more (a batch that
	// finished); Charged once its usage was recorded (ClaimCharge).
	Done, Charged bool
	// CreatedAt orders lists; the upstream's created_at when known.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ObjectQuery selects objects for ListObjects.
type ObjectQuery struct {
	// KeyID keeps one key's objects; "" keeps every key's.
	KeyID string
	// Deployment keeps the objects one deployment holds; "" keeps all.
	Deployment string
	// Kind and Purpose keep only matching objects; "" keeps all.
	Kind, Purpose string
	// Pending keeps only objects that are not Done.
	Pending bool
	// After is an object id: only objects after it in the list's order.
	// An id that is not in the registry gives an empty list.
	After string
	// Ascending orders oldest first; the default is newest first (as
	// OpenAI's lists).
	Ascending bool
	// Limit caps the count: default DefaultObjectLimit, at most
	// MaxObjectLimit.
	Limit int
}

// Limits of ObjectQuery.Limit.
const (
	DefaultObjectLimit = 20
	MaxObjectLimit     = 10001
)

// ObjectStore is the registry of objects held upstream.
type ObjectStore interface {
	// PutObject stores o, or replaces the object with o.ID, keeping its
	// creation time, owner, deployment and Charged flag.
	PutObject(ctx context.Context, o Object) error
	// GetObject returns the object with that id, or ErrNotFound.
	GetObject(ctx context.Context, id string) (Object, error)
	// ListObjects returns the objects q selects, ordered by creation time
	// and then id.
	ListObjects(ctx context.Context, q ObjectQuery) ([]Object, error)
	// DeleteObject removes it, or returns ErrNotFound.
	DeleteObject(ctx context.Context, id string) error
	// ClaimCharge marks the object charged and reports true, once: every
	// later call, from any replica, reports false.
	ClaimCharge(ctx context.Context, id string) (bool, error)
}

const objectColumns = `id, kind, key_id, team_id, event_id, attendee, deployment, upstream_id, purpose, status, data, done, charged, created_at, updated_at`

type objectQueries struct {
	get, upsert, delete, claim string
}

func newObjectQueries(d dialect) objectQueries {
	return objectQueries{
		get: d.rebind(`SELECT ` + objectColumns + ` FROM objects WHERE id = ?`),
		upsert: d.rebind(`INSERT INTO objects (` + objectColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, status = excluded.status,
			data = excluded.data, done = excluded.done, updated_at = excluded.updated_at`),
		delete: d.rebind(`DELETE FROM objects WHERE id = ?`),
		claim:  d.rebind(`UPDATE objects SET charged = TRUE, updated_at = ? WHERE id = ? AND charged = FALSE`),
	}
}

// PutObject implements ObjectStore.
func (s *sqlStore) PutObject(ctx context.Context, o Object) error {
	if o.ID == "" || o.Kind == "" || o.KeyID == "" || o.Deployment == "" {
		return errors.New("store: put object: id, kind, key and deployment are required")
	}
	now := s.timestamp()
	created := o.CreatedAt
	if created.IsZero() {
		created = now
	}
	_, err := s.write.ExecContext(ctx, s.q.objects.upsert,
		text(o.ID), text(o.Kind), text(o.KeyID), text(o.TeamID), text(o.EventID), text(o.Attendee), text(o.Deployment),
		text(o.UpstreamID), text(o.Purpose), text(o.Status), text(o.Data), o.Done, o.Charged,
		created.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: put object %q: %w", o.ID, err)
	}
	return nil
}

// GetObject implements ObjectStore.
func (s *sqlStore) GetObject(ctx context.Context, id string) (Object, error) {
	o, err := queryOne(ctx, s.read, scanObject, s.q.objects.get, id)
	if err != nil {
		return Object{}, fmt.Errorf("store: object %q: %w", id, err)
	}
	return o, nil
}

// ListObjects implements ObjectStore.
func (s *sqlStore) ListObjects(ctx context.Context, q ObjectQuery) ([]Object, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultObjectLimit
	}
	limit = min(limit, MaxObjectLimit)
	var b strings.Builder
	b.WriteString(`SELECT ` + objectColumns + ` FROM objects WHERE 1 = 1`)
	var args []any
	for _, f := range []struct{ column, value string }{{"key_id", q.KeyID}, {"deployment", q.Deployment}, {"kind", q.Kind}, {"purpose", q.Purpose}} {
		if f.value != "" {
			b.WriteString(" AND " + f.column + " = ?")
			args = append(args, f.value)
		}
	}
	if q.Pending {
		b.WriteString(" AND done = FALSE")
	}
	cmp, dir := "<", "DESC"
	if q.Ascending {
		cmp, dir = ">", "ASC"
	}
	if q.After != "" {
		after, err := s.GetObject(ctx, q.After)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("store: list objects: %w", err)
		}
		fmt.Fprintf(&b, " AND (created_at %s ? OR (created_at = ? AND id%s %s ?))", cmp, s.d.byteOrder, cmp)
		ms := after.CreatedAt.UnixMilli()
		args = append(args, ms, ms, after.ID)
	}
	fmt.Fprintf(&b, " ORDER BY created_at %s, id%s %s LIMIT %d", dir, s.d.byteOrder, dir, limit)
	out, err := queryAll(ctx, s.read, scanObject, s.d.rebind(b.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list objects: %w", err)
	}
	return out, nil
}

// DeleteObject implements ObjectStore.
func (s *sqlStore) DeleteObject(ctx context.Context, id string) error {
	if err := changeOne(ctx, s.write, s.q.objects.delete, id); err != nil {
		return fmt.Errorf("store: delete object %q: %w", id, err)
	}
	return nil
}

// ClaimCharge implements ObjectStore: the conditional UPDATE changes the
// row for exactly one caller.
func (s *sqlStore) ClaimCharge(ctx context.Context, id string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q.objects.claim, s.timestamp().UnixMilli(), id)
	if err != nil {
		return false, fmt.Errorf("store: claim charge %q: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim charge %q: %w", id, err)
	}
	return n == 1, nil
}

func scanObject(row rowScanner) (Object, error) {
	var (
		o                Object
		created, updated int64
	)
	err := row.Scan(&o.ID, &o.Kind, &o.KeyID, &o.TeamID, &o.EventID, &o.Attendee, &o.Deployment, &o.UpstreamID,
		&o.Purpose, &o.Status, &o.Data, &o.Done, &o.Charged, &created, &updated)
	if err != nil {
		return Object{}, err
	}
	o.CreatedAt, o.UpdatedAt = fromMillis(created), fromMillis(updated)
	return o, nil
}
