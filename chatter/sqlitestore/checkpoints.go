package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatterhq/sdk/chatter"
)

const checkpointCols = `SELECT workspace, source, account, chat_id, message_id, at, updated_at FROM chatter_checkpoints`

func scanCheckpoint(row scanner) (*chatter.Checkpoint, error) {
	var (
		c       chatter.Checkpoint
		source  string
		at      sql.NullString
		updated int64
	)
	if err := row.Scan(&c.Workspace, &source, &c.Account, &c.ChatID, &c.MessageID, &at, &updated); err != nil {
		return nil, err
	}
	c.Source = chatter.SourceKind(source)
	var err error
	if c.At, err = fromTextTime(at); err != nil {
		return nil, err
	}
	c.UpdatedAt = fromNanos(updated)
	return &c, nil
}

// GetCheckpoint returns the checkpoint or an error wrapping chatter.ErrNotFound.
func (s *Store) GetCheckpoint(ctx context.Context, workspace string, source chatter.SourceKind, account string, chatID int64) (*chatter.Checkpoint, error) {
	if workspace == "" || source == "" || account == "" || chatID == 0 {
		return nil, invalidf("get checkpoint: empty workspace, source, account or chat id")
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	c, err := scanCheckpoint(s.db.QueryRowContext(ctx, checkpointCols+` WHERE workspace = ? AND source = ? AND account = ? AND chat_id = ?`,
		workspace, string(source), account, chatID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: checkpoint %s:%s:%d: %w", source, account, chatID, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: checkpoint %s:%s:%d: %w", source, account, chatID, err)
	}
	return c, nil
}

// AdvanceCheckpoint moves the checkpoint forward to c.MessageID in one
// statement; a smaller or equal MessageID leaves it unchanged (no error).
func (s *Store) AdvanceCheckpoint(ctx context.Context, c *chatter.Checkpoint) error {
	if c == nil || c.Workspace == "" || c.Source == "" || c.Account == "" || c.ChatID == 0 {
		return invalidf("advance checkpoint: empty workspace, source, account or chat id")
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO chatter_checkpoints (workspace, source, account, chat_id, message_id, at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace, source, account, chat_id) DO UPDATE SET message_id = excluded.message_id,
			at = excluded.at, updated_at = excluded.updated_at
		WHERE excluded.message_id > chatter_checkpoints.message_id`,
		c.Workspace, string(c.Source), c.Account, c.ChatID, c.MessageID, textTime(c.At), nanos(s.now()))
	if err != nil {
		return fmt.Errorf("sqlitestore: advance checkpoint %s:%s:%d: %w", c.Source, c.Account, c.ChatID, err)
	}
	return nil
}

// ListCheckpoints returns the workspace's checkpoints for source (all sources
// when empty), ordered by source, account and chat.
func (s *Store) ListCheckpoints(ctx context.Context, workspace string, source chatter.SourceKind) ([]*chatter.Checkpoint, error) {
	if workspace == "" {
		return nil, invalidf("list checkpoints: empty workspace")
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, checkpointCols+` WHERE workspace = ? AND (? = '' OR source = ?)
		ORDER BY source, account, chat_id`, workspace, string(source), string(source))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list checkpoints: %w", err)
	}
	defer rows.Close()
	var out []*chatter.Checkpoint
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list checkpoints: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list checkpoints: %w", err)
	}
	return out, nil
}
