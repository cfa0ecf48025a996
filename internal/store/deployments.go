package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

const deploymentColumns = `id, model, class, provider, endpoint, resource_name, deployment,
	api_version, api_key_enc, priority, weight, rpm, tpm, active, model_info, origin,
	created_at, updated_at`

// ListDeployments implements Store.
func (s *sqlStore) ListDeployments(ctx context.Context) ([]Deployment, error) {
	out, err := queryAll(ctx, s.read, s.scanDeployment, s.q.list)
	if err != nil {
		return nil, fmt.Errorf("store: list deployments: %w", err)
	}
	return out, nil
}

// GetDeployment implements Store.
func (s *sqlStore) GetDeployment(ctx context.Context, id string) (Deployment, error) {
	d, err := queryOne(ctx, s.read, s.scanDeployment, s.q.get, id)
	if err != nil {
		return Deployment{}, fmt.Errorf("store: get deployment %q: %w", id, err)
	}
	return d, nil
}

// CreateDeployment implements Store.
func (s *sqlStore) CreateDeployment(ctx context.Context, d Deployment) (Deployment, error) {
	if d.ID == "" {
		return Deployment{}, errors.New("store: create deployment: empty id")
	}
	d.CreatedAt = s.timestamp()
	d.UpdatedAt = d.CreatedAt
	err := s.createDeployment(ctx, d)
	if err != nil {
		return Deployment{}, fmt.Errorf("store: create deployment %q: %w", d.ID, err)
	}
	return d, nil
}

func (s *sqlStore) createDeployment(ctx context.Context, d Deployment) error {
	fields, err := s.fields(d)
	if err != nil {
		return err
	}
	args := append([]any{d.ID}, fields...)
	return s.insert(ctx, s.q.insert, append(args, d.CreatedAt.UnixMilli(), d.UpdatedAt.UnixMilli())...)
}

// UpdateDeployment implements Store.
func (s *sqlStore) UpdateDeployment(ctx context.Context, d Deployment) (Deployment, error) {
	d.UpdatedAt = s.timestamp()
	created, err := s.updateDeployment(ctx, d)
	if err != nil {
		return Deployment{}, fmt.Errorf("store: update deployment %q: %w", d.ID, err)
	}
	d.CreatedAt = fromMillis(created)
	return d, nil
}

func (s *sqlStore) updateDeployment(ctx context.Context, d Deployment) (created int64, err error) {
	fields, err := s.fields(d)
	if err != nil {
		return 0, err
	}
	return s.update(ctx, s.q.update, append(fields, d.UpdatedAt.UnixMilli(), d.ID)...)
}

// DeleteDeployment implements Store.
func (s *sqlStore) DeleteDeployment(ctx context.Context, id string) error {
	err := s.change(ctx, func(tx *sql.Tx) error {
		return changeOne(ctx, tx, s.q.delete, id)
	})
	if err != nil {
		return fmt.Errorf("store: delete deployment %q: %w", id, err)
	}
	return nil
}

// fields returns the column values from model to origin, in the order of
// deploymentColumns, with the key encrypted and ModelInfo as JSON.
func (s *sqlStore) fields(d Deployment) ([]any, error) {
	var key, info sql.NullString
	if d.APIKey != "" {
		enc, err := s.sealer.seal(d.APIKey, d.ID)
		if err != nil {
			return nil, fmt.Errorf("encrypt api key: %w", err)
		}
		key = sql.NullString{String: enc, Valid: true}
	}
	if len(d.ModelInfo) > 0 {
		b, err := json.Marshal(d.ModelInfo)
		if err != nil {
			return nil, fmt.Errorf("model_info: %w", err)
		}
		info = sql.NullString{String: string(b), Valid: true}
	}
	return []any{
		d.Model, d.Class, d.Provider, d.Endpoint, d.ResourceName, d.Deployment,
		d.APIVersion, key, d.Priority, d.Weight, d.RPM, d.TPM, d.Active, info, d.Origin,
	}, nil
}

// scanDeployment reads one row in deploymentColumns order, decrypting the
// key and decoding ModelInfo.
func (s *sqlStore) scanDeployment(row rowScanner) (Deployment, error) {
	var (
		d                Deployment
		key, info        sql.NullString
		created, updated int64
	)
	err := row.Scan(&d.ID, &d.Model, &d.Class, &d.Provider, &d.Endpoint, &d.ResourceName,
		&d.Deployment, &d.APIVersion, &key, &d.Priority, &d.Weight, &d.RPM, &d.TPM,
		&d.Active, &info, &d.Origin, &created, &updated)
	if err != nil {
		return Deployment{}, err
	}
	if key.Valid {
		if d.APIKey, err = s.sealer.open(key.String, d.ID); err != nil {
			return Deployment{}, fmt.Errorf("deployment %q: api key: %w", d.ID, err)
		}
	}
	if info.Valid {
		if err := json.Unmarshal([]byte(info.String), &d.ModelInfo); err != nil {
			return Deployment{}, fmt.Errorf("deployment %q: model_info: %w", d.ID, err)
		}
	}
	d.CreatedAt, d.UpdatedAt = fromMillis(created), fromMillis(updated)
	return d, nil
}
