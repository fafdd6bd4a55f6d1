package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/chatterhq/sdk/chatter"
)

const settingCols = `SELECT workspace, key, value, version, updated_at FROM chatter_settings`

func scanSetting(row scanner) (*chatter.Setting, error) {
	var (
		st      chatter.Setting
		value   string
		updated int64
	)
	if err := row.Scan(&st.Workspace, &st.Key, &value, &st.Version, &updated); err != nil {
		return nil, err
	}
	st.Value = json.RawMessage(value)
	st.UpdatedAt = fromNanos(updated)
	return &st, nil
}

// GetSetting returns the setting or an error wrapping chatter.ErrNotFound.
func (s *Store) GetSetting(ctx context.Context, workspace, key string) (*chatter.Setting, error) {
	if workspace == "" || key == "" {
		return nil, invalidf("get setting: empty workspace or key")
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	st, err := scanSetting(s.db.QueryRowContext(ctx, settingCols+` WHERE workspace = ? AND key = ?`, workspace, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: setting %s: %w", key, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: setting %s: %w", key, err)
	}
	return st, nil
}

// PutSetting writes value if the stored version equals version (0: not
// stored yet), in one statement, and returns the new Setting with Version =
// version+1; otherwise it returns an error wrapping chatter.ErrConflict.
// value must be valid JSON (chatter.ErrInvalid otherwise).
func (s *Store) PutSetting(ctx context.Context, workspace, key string, value json.RawMessage, version int64) (*chatter.Setting, error) {
	switch {
	case workspace == "" || key == "":
		return nil, invalidf("put setting: empty workspace or key")
	case !json.Valid(value):
		return nil, invalidf("put setting %s: value is not valid JSON", key)
	case version < 0:
		return nil, invalidf("put setting %s: negative version %d", key, version)
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	now := s.now()
	var (
		res sql.Result
		err error
	)
	if version == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO chatter_settings (workspace, key, value, version, updated_at)
			VALUES (?, ?, ?, 1, ?) ON CONFLICT (workspace, key) DO NOTHING`, workspace, key, string(value), nanos(now))
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE chatter_settings SET value = ?, version = version + 1, updated_at = ?
			WHERE workspace = ? AND key = ? AND version = ?`, string(value), nanos(now), workspace, key, version)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: put setting %s: %w", key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, fmt.Errorf("sqlitestore: put setting %s: version %d is not the stored one: %w", key, version, chatter.ErrConflict)
	}
	return &chatter.Setting{Workspace: workspace, Key: key, Value: append(json.RawMessage(nil), value...),
		Version: version + 1, UpdatedAt: fromNanos(nanos(now))}, nil
}

// ListSettings returns the workspace's settings whose key starts with prefix
// (case-sensitive), ordered by key.
func (s *Store) ListSettings(ctx context.Context, workspace, prefix string) ([]*chatter.Setting, error) {
	if workspace == "" {
		return nil, invalidf("list settings: empty workspace")
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, settingCols+` WHERE workspace = ? AND substr(key, 1, length(?)) = ? ORDER BY key`,
		workspace, prefix, prefix)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list settings: %w", err)
	}
	defer rows.Close()
	var out []*chatter.Setting
	for rows.Next() {
		st, err := scanSetting(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list settings: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list settings: %w", err)
	}
	return out, nil
}
