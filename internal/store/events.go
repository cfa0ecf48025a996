package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

const eventColumns = `id, name, description, start_at, end_at, time_zone, max_token_cap,
	daily_request_cap, models, organizer_name, organizer_email, url, url_text,
	shared_code_hash, active, log_payloads, owner, signin_registration, signin_domains, created_at, updated_at`

// eventQueries are the statements of the event methods, rebound at Open.
type eventQueries struct {
	list, get, insert, update, delete, deleteKeys string
}

func newEventQueries(d dialect) eventQueries {
	return eventQueries{
		// NULLS FIRST because the databases disagree on the default: an
		// event without a start sorts first on both.
		list: `SELECT ` + eventColumns + ` FROM events ORDER BY start_at NULLS FIRST, id` + d.byteOrder,
		get:  d.rebind(`SELECT ` + eventColumns + ` FROM events WHERE id = ?`),
		insert: d.rebind(`INSERT INTO events (` + eventColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		update: d.rebind(`UPDATE events SET name = ?, description = ?, start_at = ?, end_at = ?,
			time_zone = ?, max_token_cap = ?, daily_request_cap = ?, models = ?,
			organizer_name = ?, organizer_email = ?, url = ?, url_text = ?,
			shared_code_hash = ?, active = ?, log_payloads = ?, owner = ?, signin_registration = ?, signin_domains = ?, updated_at = ?
			WHERE id = ? RETURNING created_at`),
		delete: d.rebind(`DELETE FROM events WHERE id = ?`),
		// event_id <> '' so that no id can reach the keys without an event.
		deleteKeys: d.rebind(`DELETE FROM keys WHERE event_id = ? AND event_id <> ''`),
	}
}

// CreateEvent implements AccessStore.
func (s *sqlStore) CreateEvent(ctx context.Context, e Event) (Event, error) {
	if e.ID == "" {
		return Event{}, errors.New("store: create event: empty id")
	}
	e = normalizeEvent(e)
	e.CreatedAt = s.timestamp()
	e.UpdatedAt = e.CreatedAt
	fields, err := eventFields(e)
	if err == nil {
		args := append([]any{e.ID}, fields...)
		args = append(args, e.CreatedAt.UnixMilli(), e.UpdatedAt.UnixMilli())
		err = s.insert(ctx, s.q.events.insert, args...)
	}
	if err != nil {
		return Event{}, fmt.Errorf("store: create event %q: %w", e.ID, err)
	}
	return e, nil
}

// GetEvent implements AccessStore.
func (s *sqlStore) GetEvent(ctx context.Context, id string) (Event, error) {
	e, err := queryOne(ctx, s.read, scanEvent, s.q.events.get, id)
	if err != nil {
		return Event{}, fmt.Errorf("store: get event %q: %w", id, err)
	}
	return e, nil
}

// ListEvents implements AccessStore.
func (s *sqlStore) ListEvents(ctx context.Context) ([]Event, error) {
	out, err := queryAll(ctx, s.read, scanEvent, s.q.events.list)
	if err != nil {
		return nil, fmt.Errorf("store: list events: %w", err)
	}
	return out, nil
}

// UpdateEvent implements AccessStore.
func (s *sqlStore) UpdateEvent(ctx context.Context, e Event) (Event, error) {
	e = normalizeEvent(e)
	e.UpdatedAt = s.timestamp()
	var created int64
	fields, err := eventFields(e)
	if err == nil {
		created, err = s.update(ctx, s.q.events.update, append(fields, e.UpdatedAt.UnixMilli(), e.ID)...)
	}
	if err != nil {
		return Event{}, fmt.Errorf("store: update event %q: %w", e.ID, err)
	}
	e.CreatedAt = fromMillis(created)
	return e, nil
}

// DeleteEvent implements AccessStore. The event goes first, so a missing
// one rolls back before any key is touched.
func (s *sqlStore) DeleteEvent(ctx context.Context, id string) error {
	err := s.change(ctx, func(tx *sql.Tx) error {
		if err := changeOne(ctx, tx, s.q.events.delete, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q.events.deleteKeys, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete event %q: %w", id, err)
	}
	return nil
}

// normalizeEvent returns e as a later read returns it: times in UTC to
// the millisecond, empty lists and hashes nil.
func normalizeEvent(e Event) Event {
	e.Start, e.End = storedTime(e.Start), storedTime(e.End)
	if len(e.Models) == 0 {
		e.Models = nil
	}
	if len(e.SignInDomains) == 0 {
		e.SignInDomains = nil
	}
	if len(e.SharedCodeHash) == 0 {
		e.SharedCodeHash = nil
	}
	return e
}

// eventFields returns the column values from name to signin_domains, in the
// order of eventColumns.
func eventFields(e Event) ([]any, error) {
	var code sql.NullString
	if len(e.SharedCodeHash) > 0 {
		if len(e.SharedCodeHash) != sha256.Size {
			return nil, fmt.Errorf("shared code hash is %d bytes, want %d (SHA-256)", len(e.SharedCodeHash), sha256.Size)
		}
		code = sql.NullString{String: hex.EncodeToString(e.SharedCodeHash), Valid: true}
	}
	models, err := jsonColumn(e.Models)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	domains, err := jsonColumn(e.SignInDomains)
	if err != nil {
		return nil, fmt.Errorf("signin domains: %w", err)
	}
	return []any{
		e.Name, e.Description, millisColumn(e.Start), millisColumn(e.End), e.TimeZone,
		e.MaxTokenCap, e.DailyRequestCap, models, e.OrganizerName, e.OrganizerEmail, e.URL,
		e.URLText, code, e.Active, e.LogPayloads, e.Owner, e.SignInRegistration, domains,
	}, nil
}

// scanEvent reads one row in eventColumns order.
func scanEvent(row rowScanner) (Event, error) {
	var (
		e                Event
		start, end       sql.NullInt64
		models, code     sql.NullString
		domains          sql.NullString
		created, updated int64
	)
	err := row.Scan(&e.ID, &e.Name, &e.Description, &start, &end, &e.TimeZone, &e.MaxTokenCap,
		&e.DailyRequestCap, &models, &e.OrganizerName, &e.OrganizerEmail, &e.URL, &e.URLText,
		&code, &e.Active, &e.LogPayloads, &e.Owner, &e.SignInRegistration, &domains, &created, &updated)
	if err != nil {
		return Event{}, err
	}
	if code.Valid {
		if e.SharedCodeHash, err = hex.DecodeString(code.String); err != nil {
			return Event{}, fmt.Errorf("event %q: shared code hash: %w", e.ID, err)
		}
	}
	if err := scanJSON(models, &e.Models); err != nil {
		return Event{}, fmt.Errorf("event %q: models: %w", e.ID, err)
	}
	if err := scanJSON(domains, &e.SignInDomains); err != nil {
		return Event{}, fmt.Errorf("event %q: signin domains: %w", e.ID, err)
	}
	e.Start, e.End = fromNullMillis(start), fromNullMillis(end)
	e.CreatedAt, e.UpdatedAt = fromMillis(created), fromMillis(updated)
	return e, nil
}
