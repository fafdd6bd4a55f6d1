package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
)

func scanSetting(r pgx.Row) (*chatter.Setting, error) {
	var st chatter.Setting
	var value []byte
	if err := r.Scan(&st.Workspace, &st.Key, &value, &st.Version, &st.UpdatedAt); err != nil {
		return nil, err
	}
	st.Value = json.RawMessage(value)
	st.UpdatedAt = st.UpdatedAt.UTC()
	return &st, nil
}

// GetSetting implements chatter.SettingsStore. The value comes back byte for
// byte as it was put.
func (s *Store) GetSetting(ctx context.Context, workspace, key string) (*chatter.Setting, error) {
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("pgstore: get setting: %w", err)
	}
	st, err := scanSetting(s.pool.QueryRow(ctx, s.q(`SELECT workspace, key, value::text, version, updated_at
		FROM {schema}chatter_settings WHERE workspace = $1 AND key = $2`), workspace, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: get setting %q: %w", key, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get setting %q: %w", key, err)
	}
	return st, nil
}

// PutSetting implements chatter.SettingsStore with compare-and-swap on the
// version: an INSERT … ON CONFLICT DO NOTHING for version 0, otherwise an
// UPDATE guarded by the version. A lost race is chatter.ErrConflict.
func (s *Store) PutSetting(ctx context.Context, workspace, key string, value json.RawMessage, version int64) (*chatter.Setting, error) {
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("pgstore: put setting: %w", err)
	}
	if err := checkRequired("key", key); err != nil {
		return nil, fmt.Errorf("pgstore: put setting: %w", err)
	}
	if !json.Valid(value) {
		return nil, fmt.Errorf("pgstore: put setting %q: %w", key, invalid("value", "значение — не JSON", "value is not valid JSON"))
	}
	if version < 0 {
		return nil, fmt.Errorf("pgstore: put setting %q: %w", key, invalid("version", "отрицательная версия", "version is negative"))
	}
	st := &chatter.Setting{Workspace: workspace, Key: key, Value: append(json.RawMessage(nil), value...),
		Version: version + 1, UpdatedAt: s.stamp()}
	var q string
	if version == 0 {
		q = `INSERT INTO {schema}chatter_settings (workspace, key, value, version, updated_at)
			VALUES ($1, $2, $3::text::json, $4, $5) ON CONFLICT (workspace, key) DO NOTHING`
	} else {
		q = `UPDATE {schema}chatter_settings SET value = $3::text::json, version = $4, updated_at = $5
			WHERE workspace = $1 AND key = $2 AND version = $4 - 1`
	}
	tag, err := s.pool.Exec(ctx, s.q(q), workspace, key, string(value), st.Version, st.UpdatedAt)
	if err != nil {
		return nil, fmt.Errorf("pgstore: put setting %q: %w", key, err)
	}
	if tag.RowsAffected() != 1 {
		return nil, fmt.Errorf("pgstore: put setting %q at version %d: %w", key, version, chatter.ErrConflict)
	}
	return st, nil
}

// ListSettings implements chatter.SettingsStore, ordered by key.
func (s *Store) ListSettings(ctx context.Context, workspace, prefix string) ([]*chatter.Setting, error) {
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("pgstore: list settings: %w", err)
	}
	if err := checkText("prefix", prefix); err != nil {
		return nil, fmt.Errorf("pgstore: list settings: %w", err)
	}
	rows, err := s.pool.Query(ctx, s.q(`SELECT workspace, key, value::text, version, updated_at
		FROM {schema}chatter_settings WHERE workspace = $1 AND starts_with(key, $2) ORDER BY key COLLATE "C"`), workspace, prefix)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list settings: %w", err)
	}
	defer rows.Close()
	out := []*chatter.Setting{}
	for rows.Next() {
		st, err := scanSetting(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list settings: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list settings: %w", err)
	}
	return out, nil
}
