package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
)

func checkEvent(i int, e *chatter.Event) error {
	if err := needWorkspace(e.Workspace); err != nil {
		return fmt.Errorf("event %d: %w", i, err)
	}
	if err := checkText("text", e.Text); err != nil {
		return fmt.Errorf("event %d: %w", i, err)
	}
	for _, f := range []struct{ name, v string }{
		{"category", e.Category}, {"error_class", string(e.ErrorClass)}, {"source", e.Source}, {"message_key", e.MessageKey},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	for k, v := range e.Attrs {
		if err := checkText("attrs", k+v); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

// AppendEvents implements chatter.EventStore: every event is validated, then
// all are inserted in one transaction. An event with a zero Time gets the
// store's clock.
func (s *Store) AppendEvents(ctx context.Context, events []chatter.Event) error {
	for i := range events {
		if err := checkEvent(i, &events[i]); err != nil {
			return fmt.Errorf("pgstore: append events: %w", err)
		}
	}
	if len(events) == 0 {
		return nil
	}
	now := s.stamp()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, e := range events {
			var attrs []byte
			if len(e.Attrs) > 0 {
				var err error
				if attrs, err = json.Marshal(e.Attrs); err != nil {
					return fmt.Errorf("pgstore: append events: %w", err)
				}
			}
			at := e.Time
			if at.IsZero() {
				at = now
			}
			b.Queue(s.q(`INSERT INTO {schema}chatter_events
				(workspace, at, level, category, error_class, source, message_key, text, attrs, text_fold)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`),
				e.Workspace, at.UTC().Truncate(time.Microsecond), int(e.Level), e.Category, string(e.ErrorClass),
				e.Source, e.MessageKey, e.Text, attrs, foldText(e.Text))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("pgstore: append events: %w", err)
		}
		return nil
	})
}

func checkEventQuery(q chatter.EventQuery) (int, error) {
	if err := needWorkspace(q.Workspace); err != nil {
		return 0, err
	}
	for _, f := range []struct{ name, v string }{{"category", q.Category}, {"error_class", string(q.ErrorClass)}, {"source", q.Source}} {
		if err := checkText(f.name, f.v); err != nil {
			return 0, err
		}
	}
	if err := checkPattern(q.Text); err != nil {
		return 0, err
	}
	switch {
	case q.Limit < 0:
		return 0, invalid("limit", "отрицательный лимит", "limit is negative")
	case q.Limit == 0:
		return defaultListLimit, nil
	case q.Limit > maxListLimit:
		return maxListLimit, nil
	}
	return q.Limit, nil
}

func eventWhere(q chatter.EventQuery) (string, []any) {
	var w where
	w.add("workspace = ?", q.Workspace)
	if !q.From.IsZero() {
		w.add("at >= ?", q.From)
	}
	if !q.To.IsZero() {
		w.add("at < ?", q.To)
	}
	if q.MinLevel != nil {
		w.add("level >= ?", int(*q.MinLevel))
	}
	if q.Category != "" {
		w.add("category = ?", q.Category)
	}
	if q.ErrorClass != "" {
		w.add("error_class = ?", string(q.ErrorClass))
	}
	if q.Source != "" {
		w.add("source = ?", q.Source) // see chatter_events_source
	}
	if p := foldText(q.Text); p != "" {
		// strpos is a plain substring search: % and _ are literal.
		w.add("strpos(text_fold, ?) > 0", p)
	}
	return w.sql(), w.args
}

// ListEvents implements chatter.EventStore: newest (highest ID) first.
func (s *Store) ListEvents(ctx context.Context, q chatter.EventQuery) ([]chatter.Event, error) {
	limit, err := checkEventQuery(q)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list events: %w", err)
	}
	cond, args := eventWhere(q)
	if q.BeforeID > 0 {
		args = append(args, q.BeforeID)
		cond += " AND id < $" + strconv.Itoa(len(args))
	}
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, s.q(`SELECT id, workspace, at, level, category, error_class, source, message_key, text, attrs
		FROM {schema}chatter_events`+cond+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args))), args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list events: %w", err)
	}
	defer rows.Close()
	out := []chatter.Event{}
	for rows.Next() {
		var (
			e     chatter.Event
			level int
			class string
			attrs []byte
		)
		if err := rows.Scan(&e.ID, &e.Workspace, &e.Time, &level, &e.Category, &class, &e.Source, &e.MessageKey, &e.Text, &attrs); err != nil {
			return nil, fmt.Errorf("pgstore: list events: %w", err)
		}
		e.Time = e.Time.UTC()
		e.Level = slog.Level(level)
		e.ErrorClass = chatter.ErrorClass(class)
		if len(attrs) > 0 {
			if err := json.Unmarshal(attrs, &e.Attrs); err != nil {
				return nil, fmt.Errorf("pgstore: list events: decode attrs of event %d: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list events: %w", err)
	}
	return out, nil
}

// CountEvents implements chatter.EventStore (Limit and BeforeID are ignored).
func (s *Store) CountEvents(ctx context.Context, q chatter.EventQuery) (map[chatter.ErrorClass]int, error) {
	if _, err := checkEventQuery(q); err != nil {
		return nil, fmt.Errorf("pgstore: count events: %w", err)
	}
	cond, args := eventWhere(q)
	out, err := countBy[chatter.ErrorClass](ctx, s, `SELECT error_class, count(*) FROM {schema}chatter_events`+cond+` GROUP BY error_class`, args)
	if err != nil {
		return nil, fmt.Errorf("pgstore: count events: %w", err)
	}
	return out, nil
}

// PruneEvents implements chatter.EventStore: the one deliberate cross-workspace
// operation (retention).
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, s.q(`DELETE FROM {schema}chatter_events WHERE at < $1`), before)
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
