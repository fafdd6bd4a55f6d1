package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
)

const checkpointColumns = `workspace, source, account, chat_id, message_id, at, updated_at`

func scanCheckpoint(r pgx.Row) (*chatter.Checkpoint, error) {
	var c chatter.Checkpoint
	var source string
	if err := r.Scan(&c.Workspace, &source, &c.Account, &c.ChatID, &c.MessageID, &c.At, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.Source = chatter.SourceKind(source)
	c.At, c.UpdatedAt = c.At.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func checkCheckpointKey(workspace string, source chatter.SourceKind, account string, chatID int64) error {
	if err := needWorkspace(workspace); err != nil {
		return err
	}
	if err := checkRequired("source", string(source)); err != nil {
		return err
	}
	if err := checkRequired("account", account); err != nil {
		return err
	}
	if chatID == 0 {
		return invalid("chat_id", "не указан чат", "chat id is zero")
	}
	return nil
}

// GetCheckpoint implements chatter.CheckpointStore.
func (s *Store) GetCheckpoint(ctx context.Context, workspace string, source chatter.SourceKind, account string, chatID int64) (*chatter.Checkpoint, error) {
	if err := checkCheckpointKey(workspace, source, account, chatID); err != nil {
		return nil, fmt.Errorf("pgstore: get checkpoint: %w", err)
	}
	c, err := scanCheckpoint(s.pool.QueryRow(ctx, s.q(`SELECT `+checkpointColumns+` FROM {schema}chatter_checkpoints
		WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4`), workspace, string(source), account, chatID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: get checkpoint %s:%s:%d: %w", source, account, chatID, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get checkpoint: %w", err)
	}
	return c, nil
}

// AdvanceCheckpoint implements chatter.CheckpointStore in one upsert that only
// moves forward: the row changes only when c.MessageID is greater, so
// concurrent advances end at the greatest MessageID.
func (s *Store) AdvanceCheckpoint(ctx context.Context, c *chatter.Checkpoint) error {
	if c == nil {
		return fmt.Errorf("pgstore: advance checkpoint: %w", invalid("checkpoint", "контрольная точка не указана", "checkpoint is nil"))
	}
	if err := checkCheckpointKey(c.Workspace, c.Source, c.Account, c.ChatID); err != nil {
		return fmt.Errorf("pgstore: advance checkpoint: %w", err)
	}
	if c.MessageID < 0 {
		return fmt.Errorf("pgstore: advance checkpoint: %w", invalid("message_id", "отрицательный номер сообщения", "message id is negative"))
	}
	at := c.At.UTC().Truncate(time.Microsecond)
	if _, err := s.pool.Exec(ctx, s.q(`INSERT INTO {schema}chatter_checkpoints AS c
		(workspace, source, account, chat_id, message_id, at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (workspace, source, account, chat_id) DO UPDATE SET
			message_id = GREATEST(c.message_id, excluded.message_id),
			at = excluded.at, updated_at = excluded.updated_at
		WHERE c.message_id < excluded.message_id`),
		c.Workspace, string(c.Source), c.Account, c.ChatID, c.MessageID, at, s.stamp()); err != nil {
		return fmt.Errorf("pgstore: advance checkpoint: %w", err)
	}
	return nil
}

// ListCheckpoints implements chatter.CheckpointStore, ordered by source,
// account and chat.
func (s *Store) ListCheckpoints(ctx context.Context, workspace string, source chatter.SourceKind) ([]*chatter.Checkpoint, error) {
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("pgstore: list checkpoints: %w", err)
	}
	rows, err := s.pool.Query(ctx, s.q(`SELECT `+checkpointColumns+` FROM {schema}chatter_checkpoints
		WHERE workspace = $1 AND ($2 = '' OR source = $2) ORDER BY source, account, chat_id`), workspace, string(source))
	if err != nil {
		return nil, fmt.Errorf("pgstore: list checkpoints: %w", err)
	}
	defer rows.Close()
	out := []*chatter.Checkpoint{}
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list checkpoints: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list checkpoints: %w", err)
	}
	return out, nil
}
