package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// AdminToken is a named management API token an owner minted. Only its
// SHA-256 is stored; the token itself is shown once, when it is minted.
type AdminToken struct {
	ID   string
	Name string
	// Role is what the token may do: "owner", "operator", "organiser" or
	// "viewer".
	Role string
	// Hash is the SHA-256 of the token, 32 bytes; unique.
	Hash []byte
	// Prefix is the token's first characters, for display.
	Prefix string
	// CreatedBy is the admin identity that minted it.
	CreatedBy string
	// ExpiresAt is when it stops working; zero is never.
	ExpiresAt time.Time
	// RevokedAt is when it was revoked; zero while it is valid.
	RevokedAt time.Time
	CreatedAt time.Time
}

// AuditEntry is one change made through a management API or the portal,
// or one sign-in. Entries are only ever appended.
type AuditEntry struct {
	// ID is assigned by AppendAudit.
	ID string
	At time.Time
	// Actor is the admin identity or token that acted ("admin-token",
	// "token:<id>", "oidc:<issuer>#<subject>", "github:<login>").
	Actor string
	Role  string
	// Address is the client's address as the server saw it.
	Address string
	// Resource and ResourceID name what changed ("deployments", "gpt4o");
	// Action what happened to it ("create", "update", "delete", "signin").
	Resource   string
	ResourceID string
	Action     string
	// Status is the HTTP status of the answer; 0 for events with none.
	Status int
	// Before and After are JSON documents with secrets already redacted;
	// nil when there is nothing to show.
	Before []byte
	After  []byte
}

// AuditQuery selects audit entries, newest first. Zero values select
// everything.
type AuditQuery struct {
	Actor, Resource, Action string
	// From (inclusive) and To (exclusive) bound At.
	From, To time.Time
	// After is the cursor of the last entry of the previous page: only
	// older entries follow.
	After string
	// Limit caps the page; 0 or more than 1000 is 1000.
	Limit int
}

// AdminSession is a signed-in portal session, kept in the store so that
// every replica sees a sign-out at once.
type AdminSession struct {
	// Hash is the SHA-256 of the session cookie's value, 32 bytes.
	Hash     []byte
	Subject  string
	Name     string
	Role     string
	Provider string
	// ExpiresAt is when the session ends on its own.
	ExpiresAt time.Time
	CreatedAt time.Time
}

// IdentityStore is the part of the store that holds admin tokens, admin
// sessions and the audit log.
type IdentityStore interface {
	// CreateAdminToken stores t (ErrConflict when its id or hash is taken).
	CreateAdminToken(ctx context.Context, t AdminToken) (AdminToken, error)
	// AdminTokenByHash returns the token with that hash or ErrNotFound.
	AdminTokenByHash(ctx context.Context, hash []byte) (AdminToken, error)
	// ListAdminTokens returns every admin token, newest first.
	ListAdminTokens(ctx context.Context) ([]AdminToken, error)
	// RevokeAdminToken sets RevokedAt (ErrNotFound when absent); revoking
	// twice keeps the first time.
	RevokeAdminToken(ctx context.Context, id string, at time.Time) (AdminToken, error)

	// AppendAudit stores e with a fresh ID and returns it.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// QueryAudit returns the entries q selects, newest first, and the
	// cursor of the next page ("" on the last page).
	QueryAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, string, error)

	// CreateAdminSession stores s (ErrConflict when its hash is taken).
	CreateAdminSession(ctx context.Context, s AdminSession) error
	// AdminSession returns the session with that hash, or ErrNotFound when
	// there is none or it expired at now.
	AdminSession(ctx context.Context, hash []byte, now time.Time) (AdminSession, error)
	// DeleteAdminSession ends a session; a missing one is not an error.
	DeleteAdminSession(ctx context.Context, hash []byte) error
}

const adminTokenColumns = `id, name, role, hash, prefix, created_by, expires_at, revoked_at, created_at`

const auditColumns = `id, at, actor, role, address, resource, resource_id, action, status, before_json, after_json`

// identityQueries are the statements of the identity methods.
type identityQueries struct {
	tokenInsert, tokenByHash, tokenList, tokenRevoke, tokenGet string
	auditInsert, auditSelect                                   string
	sessionInsert, sessionGet, sessionDelete                   string
}

func newIdentityQueries(d dialect) identityQueries {
	return identityQueries{
		tokenInsert: d.rebind(`INSERT INTO admin_tokens (` + adminTokenColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		tokenByHash: d.rebind(`SELECT ` + adminTokenColumns + ` FROM admin_tokens WHERE hash = ?`),
		tokenGet:    d.rebind(`SELECT ` + adminTokenColumns + ` FROM admin_tokens WHERE id = ?`),
		tokenList:   `SELECT ` + adminTokenColumns + ` FROM admin_tokens ORDER BY created_at DESC, id` + d.byteOrder,
		tokenRevoke: d.rebind(`UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`),
		auditInsert: d.rebind(`INSERT INTO audit (` + auditColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		// The WHERE clause is built per query in QueryAudit.
		auditSelect:   `SELECT ` + auditColumns + ` FROM audit`,
		sessionInsert: d.rebind(`INSERT INTO admin_sessions (hash, subject, name, role, provider, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		sessionGet:    d.rebind(`SELECT subject, name, role, provider, created_at, expires_at FROM admin_sessions WHERE hash = ? AND expires_at > ?`),
		sessionDelete: d.rebind(`DELETE FROM admin_sessions WHERE hash = ?`),
	}
}

// CreateAdminToken implements IdentityStore.
func (s *sqlStore) CreateAdminToken(ctx context.Context, t AdminToken) (AdminToken, error) {
	if t.ID == "" || t.Role == "" {
		return AdminToken{}, errors.New("store: create admin token: empty id or role")
	}
	if len(t.Hash) != sha256.Size {
		return AdminToken{}, fmt.Errorf("store: create admin token %q: hash is %d bytes, want %d (SHA-256)", t.ID, len(t.Hash), sha256.Size)
	}
	t.CreatedAt = s.timestamp()
	t.ExpiresAt, t.RevokedAt = storedTime(t.ExpiresAt), storedTime(t.RevokedAt)
	_, err := s.write.ExecContext(ctx, s.q.identity.tokenInsert, t.ID, t.Name, t.Role, hex.EncodeToString(t.Hash),
		t.Prefix, t.CreatedBy, millisColumn(t.ExpiresAt), millisColumn(t.RevokedAt), t.CreatedAt.UnixMilli())
	if s.d.isConflict(err) {
		err = ErrConflict
	}
	if err != nil {
		return AdminToken{}, fmt.Errorf("store: create admin token %q: %w", t.ID, err)
	}
	return t, nil
}

// AdminTokenByHash implements IdentityStore.
func (s *sqlStore) AdminTokenByHash(ctx context.Context, hash []byte) (AdminToken, error) {
	t, err := queryOne(ctx, s.read, scanAdminToken, s.q.identity.tokenByHash, hex.EncodeToString(hash))
	if err != nil {
		return AdminToken{}, fmt.Errorf("store: admin token by hash: %w", err)
	}
	return t, nil
}

// ListAdminTokens implements IdentityStore.
func (s *sqlStore) ListAdminTokens(ctx context.Context) ([]AdminToken, error) {
	out, err := queryAll(ctx, s.read, scanAdminToken, s.q.identity.tokenList)
	if err != nil {
		return nil, fmt.Errorf("store: list admin tokens: %w", err)
	}
	return out, nil
}

// RevokeAdminToken implements IdentityStore.
func (s *sqlStore) RevokeAdminToken(ctx context.Context, id string, at time.Time) (AdminToken, error) {
	if err := changeOne(ctx, s.write, s.q.identity.tokenRevoke, storedTime(at).UnixMilli(), id); err != nil {
		return AdminToken{}, fmt.Errorf("store: revoke admin token %q: %w", id, err)
	}
	t, err := queryOne(ctx, s.write, scanAdminToken, s.q.identity.tokenGet, id)
	if err != nil {
		return AdminToken{}, fmt.Errorf("store: revoke admin token %q: %w", id, err)
	}
	return t, nil
}

func scanAdminToken(row rowScanner) (AdminToken, error) {
	var (
		t                AdminToken
		hash             string
		expires, revoked sql.NullInt64
		created          int64
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Role, &hash, &t.Prefix, &t.CreatedBy, &expires, &revoked, &created); err != nil {
		return AdminToken{}, err
	}
	var err error
	if t.Hash, err = hex.DecodeString(hash); err != nil {
		return AdminToken{}, fmt.Errorf("admin token %q: hash: %w", t.ID, err)
	}
	t.ExpiresAt, t.RevokedAt, t.CreatedAt = fromNullMillis(expires), fromNullMillis(revoked), fromMillis(created)
	return t, nil
}

// CreateAdminSession implements IdentityStore.
func (s *sqlStore) CreateAdminSession(ctx context.Context, a AdminSession) error {
	if len(a.Hash) != sha256.Size || a.Subject == "" || a.Role == "" {
		return errors.New("store: create admin session: want a 32-byte hash, a subject and a role")
	}
	_, err := s.write.ExecContext(ctx, s.q.identity.sessionInsert, hex.EncodeToString(a.Hash), a.Subject, a.Name,
		a.Role, a.Provider, s.timestamp().UnixMilli(), storedTime(a.ExpiresAt).UnixMilli())
	if s.d.isConflict(err) {
		err = ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create admin session: %w", err)
	}
	return nil
}

// AdminSession implements IdentityStore.
func (s *sqlStore) AdminSession(ctx context.Context, hash []byte, now time.Time) (AdminSession, error) {
	a := AdminSession{Hash: hash}
	var created, expires int64
	err := s.read.QueryRowContext(ctx, s.q.identity.sessionGet, hex.EncodeToString(hash), now.UnixMilli()).
		Scan(&a.Subject, &a.Name, &a.Role, &a.Provider, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return AdminSession{}, fmt.Errorf("store: admin session: %w", err)
	}
	a.CreatedAt, a.ExpiresAt = fromMillis(created), fromMillis(expires)
	return a, nil
}

// DeleteAdminSession implements IdentityStore.
func (s *sqlStore) DeleteAdminSession(ctx context.Context, hash []byte) error {
	if _, err := s.write.ExecContext(ctx, s.q.identity.sessionDelete, hex.EncodeToString(hash)); err != nil {
		return fmt.Errorf("store: delete admin session: %w", err)
	}
	return nil
}
