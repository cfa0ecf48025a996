package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// Team is a group of keys that share an allow-list, rpm and tpm limits and
// budgets: a request by one of its keys needs both the key's and the
// team's limits to allow it.
type Team struct {
	ID   string
	Name string
	// Models is the allow-list; empty allows every model.
	Models []string
	// RPM and TPM limit the requests and tokens per minute of all the
	// team's keys together; 0 is unlimited.
	RPM int
	TPM int
	// BudgetDaily and BudgetMonthly limit the cost (USD) of all the team's
	// keys per UTC day and per calendar month (UTC); 0 is no budget.
	BudgetDaily   float64
	BudgetMonthly float64
	// MaxParallel caps the requests in flight at once of all the team's
	// keys together, across replicas; 0 is no cap.
	MaxParallel int
	// Metadata is free-form data from the operator, stored as JSON.
	Metadata  map[string]any
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TeamStore is the part of AccessStore that holds teams. Changes bump the
// revision, like every access change.
type TeamStore interface {
	// CreateTeam stores t (ErrConflict when the id exists).
	CreateTeam(ctx context.Context, t Team) (Team, error)
	// GetTeam returns one team or ErrNotFound.
	GetTeam(ctx context.Context, id string) (Team, error)
	// ListTeams returns every team, ordered by id.
	ListTeams(ctx context.Context) ([]Team, error)
	// UpdateTeam replaces the team with t.ID (ErrNotFound when absent),
	// keeping CreatedAt.
	UpdateTeam(ctx context.Context, t Team) (Team, error)
	// DeleteTeam removes the team and takes its keys out of it (they keep
	// working with their own limits), or returns ErrNotFound.
	DeleteTeam(ctx context.Context, id string) error
	// SetKeyTeam puts a key in a team, or with teamID "" out of any, and
	// returns the key. ErrNotFound when the key or the team is missing;
	// the check and the change are one transaction, so a key never lands
	// in a team being deleted.
	SetKeyTeam(ctx context.Context, keyID, teamID string) (Key, error)
}

const teamColumns = `id, name, models, rpm, tpm, budget_daily, budget_monthly, metadata,
	max_parallel_requests, created_at, updated_at`

// teamQueries are the statements of the team methods, rebound at Open.
type teamQueries struct {
	list, get, insert, update, delete, detachKeys, lockTeam, setKeyTeam string
}

func newTeamQueries(d dialect) teamQueries {
	return teamQueries{
		list: `SELECT ` + teamColumns + ` FROM teams ORDER BY id` + d.byteOrder,
		get:  d.rebind(`SELECT ` + teamColumns + ` FROM teams WHERE id = ?`),
		insert: d.rebind(`INSERT INTO teams (` + teamColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		update: d.rebind(`UPDATE teams SET name = ?, models = ?, rpm = ?, tpm = ?,
			budget_daily = ?, budget_monthly = ?, metadata = ?, max_parallel_requests = ?, updated_at = ?
			WHERE id = ? RETURNING created_at`),
		delete: d.rebind(`DELETE FROM teams WHERE id = ?`),
		// team_id <> '' so that no id can reach the keys without a team.
		detachKeys: d.rebind(`UPDATE keys SET team_id = '', updated_at = ? WHERE team_id = ? AND team_id <> ''`),
		// An UPDATE that changes nothing, rather than a SELECT: it finds
		// the team and locks its row until the transaction ends, so a
		// concurrent DeleteTeam waits and then takes this key out too
		// (PostgreSQL; SQLite has one writer).
		lockTeam:   d.rebind(`UPDATE teams SET updated_at = updated_at WHERE id = ?`),
		setKeyTeam: d.rebind(`UPDATE keys SET team_id = ?, updated_at = ? WHERE id = ?`),
	}
}

// CreateTeam implements TeamStore.
func (s *sqlStore) CreateTeam(ctx context.Context, t Team) (Team, error) {
	if t.ID == "" {
		return Team{}, errors.New("store: create team: empty id")
	}
	t = normalizeTeam(t)
	t.CreatedAt = s.timestamp()
	t.UpdatedAt = t.CreatedAt
	fields, err := teamFields(t)
	if err == nil {
		args := append([]any{t.ID}, fields...)
		args = append(args, t.CreatedAt.UnixMilli(), t.UpdatedAt.UnixMilli())
		err = s.insert(ctx, s.q.teams.insert, args...)
	}
	if err != nil {
		return Team{}, fmt.Errorf("store: create team %q: %w", t.ID, err)
	}
	return t, nil
}

// GetTeam implements TeamStore.
func (s *sqlStore) GetTeam(ctx context.Context, id string) (Team, error) {
	t, err := queryOne(ctx, s.read, scanTeam, s.q.teams.get, id)
	if err != nil {
		return Team{}, fmt.Errorf("store: get team %q: %w", id, err)
	}
	return t, nil
}

// ListTeams implements TeamStore.
func (s *sqlStore) ListTeams(ctx context.Context) ([]Team, error) {
	out, err := queryAll(ctx, s.read, scanTeam, s.q.teams.list)
	if err != nil {
		return nil, fmt.Errorf("store: list teams: %w", err)
	}
	return out, nil
}

// UpdateTeam implements TeamStore.
func (s *sqlStore) UpdateTeam(ctx context.Context, t Team) (Team, error) {
	t = normalizeTeam(t)
	t.UpdatedAt = s.timestamp()
	var created int64
	fields, err := teamFields(t)
	if err == nil {
		created, err = s.update(ctx, s.q.teams.update, append(fields, t.UpdatedAt.UnixMilli(), t.ID)...)
	}
	if err != nil {
		return Team{}, fmt.Errorf("store: update team %q: %w", t.ID, err)
	}
	t.CreatedAt = fromMillis(created)
	return t, nil
}

// DeleteTeam implements TeamStore. The team goes first, so a missing one
// rolls back before any key is touched.
func (s *sqlStore) DeleteTeam(ctx context.Context, id string) error {
	now := s.timestamp().UnixMilli()
	err := s.change(ctx, func(tx *sql.Tx) error {
		if err := changeOne(ctx, tx, s.q.teams.delete, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q.teams.detachKeys, now, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete team %q: %w", id, err)
	}
	return nil
}

// SetKeyTeam implements TeamStore.
func (s *sqlStore) SetKeyTeam(ctx context.Context, keyID, teamID string) (Key, error) {
	now := s.timestamp().UnixMilli()
	err := s.change(ctx, func(tx *sql.Tx) error {
		if err := s.lockTeam(ctx, tx, teamID); err != nil {
			return err
		}
		if err := changeOne(ctx, tx, s.q.teams.setKeyTeam, teamID, now, keyID); err != nil {
			return fmt.Errorf("key %q: %w", keyID, err)
		}
		return nil
	})
	if err != nil {
		return Key{}, fmt.Errorf("store: set team of key %q: %w", keyID, err)
	}
	return s.GetKey(ctx, keyID)
}

// lockTeam finds the team a key is to join and locks its row until tx
// ends, or returns ErrNotFound; "" (no team) is always fine.
func (s *sqlStore) lockTeam(ctx context.Context, tx *sql.Tx, teamID string) error {
	if teamID == "" {
		return nil
	}
	if err := changeOne(ctx, tx, s.q.teams.lockTeam, teamID); err != nil {
		return fmt.Errorf("team %q: %w", teamID, err)
	}
	return nil
}

// normalizeTeam returns t as a later read returns it: empty lists and
// maps nil.
func normalizeTeam(t Team) Team {
	if len(t.Models) == 0 {
		t.Models = nil
	}
	if len(t.Metadata) == 0 {
		t.Metadata = nil
	}
	return t
}

// teamFields returns the column values from name to
// max_parallel_requests, in the order of teamColumns.
func teamFields(t Team) ([]any, error) {
	for _, b := range []float64{t.BudgetDaily, t.BudgetMonthly} {
		if b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
			return nil, fmt.Errorf("budget %v: want 0 or a finite amount", b)
		}
	}
	if t.MaxParallel < 0 {
		return nil, fmt.Errorf("max_parallel_requests %d: want 0 or more", t.MaxParallel)
	}
	models, err := jsonColumn(t.Models)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	metadata, err := jsonColumn(t.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return []any{t.Name, models, t.RPM, t.TPM, t.BudgetDaily, t.BudgetMonthly, metadata, t.MaxParallel}, nil
}

// scanTeam reads one row in teamColumns order.
func scanTeam(row rowScanner) (Team, error) {
	var (
		t                Team
		models, metadata sql.NullString
		created, updated int64
	)
	err := row.Scan(&t.ID, &t.Name, &models, &t.RPM, &t.TPM, &t.BudgetDaily, &t.BudgetMonthly,
		&metadata, &t.MaxParallel, &created, &updated)
	if err != nil {
		return Team{}, err
	}
	if err := scanJSON(models, &t.Models); err != nil {
		return Team{}, fmt.Errorf("team %q: models: %w", t.ID, err)
	}
	if err := scanJSON(metadata, &t.Metadata); err != nil {
		return Team{}, fmt.Errorf("team %q: metadata: %w", t.ID, err)
	}
	t.CreatedAt, t.UpdatedAt = fromMillis(created), fromMillis(updated)
	return t, nil
}
