package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
)

// foldText is the text_fold column of a text: chatter.FoldText, which also
// drops NUL (a text column cannot hold it).
func foldText(s string) string { return chatter.FoldText(s) }

// checkPattern validates LedgerQuery.Text and EventQuery.Text.
func checkPattern(p string) error {
	if !utf8.ValidString(p) {
		return invalid("text", "текст для поиска не в кодировке UTF-8", "search text is not valid UTF-8")
	}
	return nil
}

// backfillRows is the most rows one backfill transaction of Migrate fills.
const backfillRows = 500

// backfill fills the columns that migration 0006 added for rows written
// before it (or by an older version since): text_fold from the message's
// text and, for delivered rows, new_lead from the result; then the events'
// text_fold of migration 0008 (backfillEvents). Each batch is one
// transaction that locks the rows it fills (FOR UPDATE, in id order): an
// instance migrating at the same time waits for those rows, finds them
// filled and moves on to the next ones, so no row is filled twice and no
// two backfills deadlock; an interrupted backfill resumes where it stopped.
// It returns how many ledger rows and events it filled.
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
			return total, fmt.Errorf("pgstore: backfill searchable text: %w", err)
		}
		if n == 0 {
			if total > 0 {
				s.log.InfoContext(ctx, "pgstore: backfilled searchable text", slog.Int("rows", total))
			}
			return total, nil
		}
	}
}

func (s *Store) backfillBatch(ctx context.Context) (int, error) {
	var (
		ids   []int64
		folds []string
		leads []*bool
		bad   []int64
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ids, folds, leads, bad = ids[:0], folds[:0], leads[:0], bad[:0]
		rows, err := tx.Query(ctx, s.q(`SELECT id, body, state, result FROM {schema}chatter_messages
			WHERE text_fold IS NULL OR (state = 'delivered' AND new_lead IS NULL)
			ORDER BY id LIMIT $1 FOR UPDATE`), backfillRows)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id           int64
				body, result []byte
				state        string
			)
			if err := rows.Scan(&id, &body, &state, &result); err != nil {
				rows.Close()
				return err
			}
			fold, lead, ok := foldRow(body, chatter.State(state), result)
			ids, folds, leads = append(ids, id), append(folds, fold), append(leads, lead)
			if !ok {
				bad = append(bad, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, s.q(`UPDATE {schema}chatter_messages AS m SET text_fold = u.fold, new_lead = u.new_lead
			FROM unnest($1::bigint[], $2::text[], $3::boolean[]) AS u(id, fold, new_lead)
			WHERE m.id = u.id`), ids, folds, leads)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, id := range bad {
		s.log.WarnContext(ctx, "pgstore: backfill: a stored column does not decode; filled as empty", slog.Int64("row_id", id))
	}
	return len(ids), nil
}

// foldRow computes the backfilled columns of one row; ok is false when the
// body or the result did not decode (the columns are then filled as for an
// empty text and no lead).
func foldRow(body []byte, state chatter.State, result []byte) (fold string, lead *bool, ok bool) {
	ok = true
	var m struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		ok = false
	}
	if state == chatter.StateDelivered {
		var r *chatter.DeliveryResult
		if len(result) > 0 {
			r = new(chatter.DeliveryResult)
			if err := json.Unmarshal(result, r); err != nil {
				r, ok = nil, false
			}
		}
		lead = newLead(state, r)
	}
	return foldText(m.Text), lead, ok
}

// backfillEvents fills text_fold of the events appended before migration
// 0008 (or by an older version since), as backfillMessages fills the
// ledger's, and returns how many it filled.
func (s *Store) backfillEvents(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.backfillEventBatch(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("pgstore: backfill searchable event text: %w", err)
		}
		if n == 0 {
			if total > 0 {
				s.log.InfoContext(ctx, "pgstore: backfilled searchable event text", slog.Int("events", total))
			}
			return total, nil
		}
	}
}

func (s *Store) backfillEventBatch(ctx context.Context) (int, error) {
	var (
		ids   []int64
		folds []string
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ids, folds = ids[:0], folds[:0]
		rows, err := tx.Query(ctx, s.q(`SELECT id, text FROM {schema}chatter_events
			WHERE text_fold IS NULL ORDER BY id LIMIT $1 FOR UPDATE`), backfillRows)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var text string
			if err := rows.Scan(&id, &text); err != nil {
				rows.Close()
				return err
			}
			ids, folds = append(ids, id), append(folds, foldText(text))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, s.q(`UPDATE {schema}chatter_events AS e SET text_fold = u.fold
			FROM unnest($1::bigint[], $2::text[]) AS u(id, fold)
			WHERE e.id = u.id`), ids, folds)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}
