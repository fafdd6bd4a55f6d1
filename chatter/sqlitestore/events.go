package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
)

// AppendEvents stores events in one transaction and sets each one's ID (and
// Time, when zero, to the store clock) in the slice. Every event needs a
// workspace and a time in the years 1678..2262; otherwise nothing is stored.
func (s *Store) AppendEvents(ctx context.Context, events []chatter.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := s.now()
	attrs := make([]any, len(events))
	for i := range events {
		e := &events[i]
		if e.Workspace == "" {
			return invalidf("append events: event %d: empty workspace", i)
		}
		t := e.Time
		if t.IsZero() {
			t = now
		}
		if err := checkNanosRange("event time", t); err != nil {
			return fmt.Errorf("append events: event %d: %w", i, err)
		}
		if len(e.Attrs) > 0 {
			b, err := json.Marshal(e.Attrs)
			if err != nil {
				return invalidf("append events: event %d: attrs: %v", i, err)
			}
			attrs[i] = string(b)
		}
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	ids := make([]int64, len(events))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO chatter_events
			(workspace, time, level, category, error_class, source, message_key, text, attrs, text_fold)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range events {
			e := &events[i]
			t := e.Time
			if t.IsZero() {
				t = now
			}
			if err := stmt.QueryRowContext(ctx, e.Workspace, nanos(t), int64(e.Level), e.Category, string(e.ErrorClass),
				e.Source, e.MessageKey, e.Text, attrs[i], chatter.FoldText(e.Text)).Scan(&ids[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: append events: %w", err)
	}
	for i := range events {
		events[i].ID = ids[i]
		if events[i].Time.IsZero() {
			events[i].Time = fromNanos(nanos(now))
		}
	}
	return nil
}

func eventWhere(q chatter.EventQuery, withCursor bool) (string, []any, error) {
	if q.Workspace == "" {
		return "", nil, invalidf("event query: empty workspace")
	}
	if !utf8.ValidString(q.Text) {
		return "", nil, invalidf("event query: search text is not valid UTF-8")
	}
	var b strings.Builder
	args := []any{q.Workspace}
	b.WriteString("workspace = ?")
	add := func(cond string, v any) {
		b.WriteString(" AND " + cond)
		args = append(args, v)
	}
	if !q.From.IsZero() {
		add("time >= ?", nanos(q.From))
	}
	if !q.To.IsZero() {
		add("time < ?", nanos(q.To))
	}
	if q.MinLevel != nil {
		add("level >= ?", int64(*q.MinLevel))
	}
	if q.Category != "" {
		add("category = ?", q.Category)
	}
	if q.ErrorClass != "" {
		add("error_class = ?", string(q.ErrorClass))
	}
	if q.Source != "" {
		add("source = ?", q.Source) // see chatter_events_source
	}
	if p := chatter.FoldText(q.Text); p != "" {
		// instr is a plain substring search: % and _ are literal.
		add("instr(text_fold, ?) > 0", p)
	}
	if withCursor && q.BeforeID > 0 {
		add("id < ?", q.BeforeID)
	}
	return b.String(), args, nil
}

// ListEvents returns events matching q, newest (highest ID) first, at most
// q.Limit (default 100, at most 1000).
func (s *Store) ListEvents(ctx context.Context, q chatter.EventQuery) ([]chatter.Event, error) {
	where, args, err := eventWhere(q, true)
	if err != nil {
		return nil, err
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	limit, err := limitOf(q.Limit)
	if err != nil {
		return nil, err
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT id, workspace, time, level, category, error_class, source, message_key, text, attrs
		FROM chatter_events WHERE `+where+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list events: %w", err)
	}
	defer rows.Close()
	var out []chatter.Event
	for rows.Next() {
		var (
			e         chatter.Event
			t, level  int64
			errClass  string
			attrsJSON sql.NullString
		)
		if err := rows.Scan(&e.ID, &e.Workspace, &t, &level, &e.Category, &errClass, &e.Source, &e.MessageKey, &e.Text, &attrsJSON); err != nil {
			return nil, fmt.Errorf("sqlitestore: list events: %w", err)
		}
		e.Time, e.Level, e.ErrorClass = fromNanos(t), slog.Level(level), chatter.ErrorClass(errClass)
		if attrsJSON.Valid {
			if err := json.Unmarshal([]byte(attrsJSON.String), &e.Attrs); err != nil {
				return nil, fmt.Errorf("sqlitestore: list events: attrs of %d: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list events: %w", err)
	}
	return out, nil
}

// CountEvents counts events matching q by error class ("" for none), ignoring
// q.Limit and q.BeforeID.
func (s *Store) CountEvents(ctx context.Context, q chatter.EventQuery) (map[chatter.ErrorClass]int, error) {
	where, args, err := eventWhere(q, false)
	if err != nil {
		return nil, err
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT error_class, count(*) FROM chatter_events WHERE `+where+` GROUP BY error_class`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: count events: %w", err)
	}
	defer rows.Close()
	out := make(map[chatter.ErrorClass]int)
	for rows.Next() {
		var c string
		var n int
		if err := rows.Scan(&c, &n); err != nil {
			return nil, fmt.Errorf("sqlitestore: count events: %w", err)
		}
		out[chatter.ErrorClass(c)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: count events: %w", err)
	}
	return out, nil
}

// PruneEvents deletes events with Time before before in every workspace and
// returns how many it deleted.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if before.Before(minNanosTime) {
		return 0, nil
	}
	if before.After(maxNanosTime) {
		before = maxNanosTime
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM chatter_events WHERE time < ?`, nanos(before))
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: prune events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: prune events: %w", err)
	}
	return int(n), nil
}
