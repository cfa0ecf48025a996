package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting implements Store.
func (s *sqlStore) Setting(ctx context.Context, key string) (string, error) {
	var value string
	err := s.read.QueryRowContext(ctx, s.q.setting, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %q: %w", key, err)
	}
	return value, nil
}

// SetSetting implements Store.
func (s *sqlStore) SetSetting(ctx context.Context, key, value string) error {
	if _, err := s.write.ExecContext(ctx, s.q.setSetting, key, value, s.timestamp().UnixMilli()); err != nil {
		return fmt.Errorf("store: set setting %q: %w", key, err)
	}
	return nil
}
