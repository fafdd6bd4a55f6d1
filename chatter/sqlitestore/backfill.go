package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/chatterhq/sdk/chatter"
)

// backfillRows is the most rows one backfill transaction of Migrate fills.
const backfillRows = 500

// backfill fills the columns that migration 0005 added for rows written
// before it (or by an older version since): text_fold from the message's
// text and, for delivered rows, new_lead from the result; then the events'
// text_fold of migration 0007 (backfillEvents). Each batch of backfillRows
// rows is one write transaction that reads and updates the rows it fills,
// so processes migrating the same file at once (their write transactions
// take turns) never fill a row twice, and an interrupted backfill resumes
// where it stopped. It returns how many ledger rows and events it filled.
func (s *Store) backfill(ctx context.Context) (int, error) {
	n, err := s.backfillMessages(ctx)
	if err != nil {
		return n, err
	}
	m, err := s.backfillEvents(ctx)
	return n + m, err
}

func (s *Store) backfillMessages(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.backfillBatch(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlitestore: backfill searchable text: %w", err)
		}
		if n < backfillRows {
			if total > 0 {
				s.log.InfoContext(ctx, "sqlitestore: backfilled searchable text", slog.Int("rows", total))
			}
			return total, nil
		}
	}
}

type unfolded struct {
	id       int64
	fold     string
	newLead  any
	badField string // a column that did not decode (logged; the row is filled anyway)
}

func (s *Store) backfillBatch(ctx context.Context) (int, error) {
	var batch []unfolded
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		batch = batch[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id, body, state, result FROM chatter_messages
			WHERE text_fold IS NULL OR (state = 'delivered' AND new_lead IS NULL)
			ORDER BY id LIMIT ?`, backfillRows)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id     int64
				body   string
				state  string
				result sql.NullString
			)
			if err := rows.Scan(&id, &body, &state, &result); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, foldRow(id, []byte(body), chatter.State(state), []byte(result.String), result.Valid))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `UPDATE chatter_messages SET text_fold = ?, new_lead = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range batch {
			if _, err := stmt.ExecContext(ctx, u.fold, u.newLead, u.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, u := range batch {
		if u.badField != "" {
			s.log.WarnContext(ctx, "sqlitestore: backfill: a stored column does not decode; filled as empty",
				slog.Int64("row_id", u.id), slog.String("column", u.badField))
		}
	}
	return len(batch), nil
}

// foldRow computes the backfilled columns of one row.
func foldRow(id int64, body []byte, state chatter.State, result []byte, hasResult bool) unfolded {
	u := unfolded{id: id}
	var m struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		u.badField = "body"
	}
	u.fold = chatter.FoldText(m.Text)
	if state == chatter.StateDelivered {
		var r *chatter.DeliveryResult
		if hasResult {
			r = new(chatter.DeliveryResult)
			if err := json.Unmarshal(result, r); err != nil {
				u.badField, r = "result", nil
			}
		}
		u.newLead = newLead(state, r)
	}
	return u
}

// backfillEvents fills text_fold of the events appended before migration
// 0007 (or by an older version since), as backfillMessages fills the
// ledger's, and returns how many it filled.
func (s *Store) backfillEvents(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.backfillEventBatch(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlitestore: backfill searchable event text: %w", err)
		}
		if n < backfillRows {
			if total > 0 {
				s.log.InfoContext(ctx, "sqlitestore: backfilled searchable event text", slog.Int("events", total))
			}
			return total, nil
		}
	}
}

func (s *Store) backfillEventBatch(ctx context.Context) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `SELECT id, text FROM chatter_events WHERE text_fold IS NULL ORDER BY id LIMIT ?`, backfillRows)
		if err != nil {
			return err
		}
		var ids []int64
		var folds []string
		for rows.Next() {
			var id int64
			var text string
			if err := rows.Scan(&id, &text); err != nil {
				rows.Close()
				return err
			}
			ids, folds = append(ids, id), append(folds, chatter.FoldText(text))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `UPDATE chatter_events SET text_fold = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, id := range ids {
			if _, err := stmt.ExecContext(ctx, folds[i], id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
