package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/internal/deliveryqueue"
)

// Limits from the contracts in chatter/store.go.
const (
	maxPriority      = 3
	defaultListLimit = 100
	maxListLimit     = 1000
)

func checkOptions(o chatter.AcceptOptions) error {
	if o.Priority < 0 || o.Priority > maxPriority {
		return invalid("priority", fmt.Sprintf("приоритет %d вне диапазона 0–%d", o.Priority, maxPriority),
			fmt.Sprintf("priority %d is outside 0..%d", o.Priority, maxPriority))
	}
	if o.MaxAttempts < 0 {
		return invalid("max_attempts", "число попыток отрицательное", "max attempts is negative (0: no cap by count)")
	}
	return nil
}

// row is one message prepared for insertion.
type row struct {
	m       *chatter.Message
	opts    chatter.AcceptOptions
	body    []byte
	verdict []byte
	state   chatter.State
	fold    string // chatter.FoldText(m.Text), the text_fold column
}

func prepare(m *chatter.Message, o chatter.AcceptOptions) (row, error) {
	if err := m.Validate(); err != nil {
		return row{}, err
	}
	if err := checkOptions(o); err != nil {
		return row{}, err
	}
	for _, f := range []struct{ name, v string }{
		{"workspace", m.Workspace}, {"key.source", string(m.Key.Source)}, {"key.account", m.Key.Account},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return row{}, err
		}
	}
	c := *m
	c.Raw = nil
	body, err := json.Marshal(&c)
	if err != nil {
		return row{}, invalid("message", "сообщение не кодируется в JSON", "message does not encode as JSON: "+err.Error())
	}
	verdict, err := json.Marshal(o.Verdict)
	if err != nil {
		return row{}, invalid("verdict", "вердикт не кодируется в JSON", "verdict does not encode as JSON: "+err.Error())
	}
	r := row{m: m, opts: o, body: body, verdict: verdict, state: chatter.StateFiltered, fold: foldText(m.Text)}
	if o.Verdict.Accept {
		r.state = chatter.StateQueued
	}
	return r, nil
}

// saveSQL inserts a message unless its key exists, and returns the row's id,
// state and whether this statement inserted it. A row inserted concurrently
// by another transaction may be invisible to the statement's snapshot; then
// no row comes back and the caller reads the state again.
const saveSQL = `WITH ins AS (
	INSERT INTO {schema}chatter_messages
		(workspace, source, account, chat_id, message_id, revision, body, raw, state, verdict,
		 priority, max_attempts, received_at, updated_at, next_at, budget_start, text_fold)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $13, $15)
	ON CONFLICT ON CONSTRAINT chatter_messages_key DO NOTHING
	RETURNING id, state
)
SELECT id, state, true FROM ins
UNION ALL
SELECT id, state, false FROM {schema}chatter_messages
WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4 AND message_id = $5 AND revision = $6
	AND NOT EXISTS (SELECT 1 FROM ins)`

const stateSQL = `SELECT id, state, false FROM {schema}chatter_messages
WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4 AND message_id = $5 AND revision = $6`

func (r *row) args(now time.Time) []any {
	k := r.m.Key
	var raw []byte
	if len(r.m.Raw) > 0 {
		raw = r.m.Raw
	}
	var next *time.Time
	if r.state == chatter.StateQueued {
		next = &now
	}
	return []any{r.m.Workspace, string(k.Source), k.Account, k.ChatID, k.MessageID, k.Revision,
		r.body, raw, string(r.state), r.verdict, r.opts.Priority, r.opts.MaxAttempts, now, next, r.fold}
}

// saved is the outcome of one insert attempt.
type saved struct {
	id       int64
	state    string
	inserted bool
}

// SaveMessage implements chatter.MessageStore: the message row and its River
// job are written in one transaction; a duplicate key enqueues nothing.
//
// Concurrent calls share transactions (see GroupCommit); each caller still
// gets its own result. An invalid message (or options) fails only its own
// call with an error wrapping chatter.ErrInvalid, before anything is
// written. When ctx ends while the call waits for its batch, it returns
// ctx's error; the message may still be committed by its batch (a retry then
// reports a duplicate), as with any write whose caller stops waiting.
func (s *Store) SaveMessage(ctx context.Context, m *chatter.Message, opts chatter.AcceptOptions) (chatter.AcceptResult, error) {
	if s.gc == nil {
		res, err := s.SaveMessages(ctx, []*chatter.Message{m}, []chatter.AcceptOptions{opts})
		if err != nil {
			return chatter.AcceptResult{}, err
		}
		return res[0], nil
	}
	r, err := prepare(m, opts)
	if err != nil {
		if m != nil {
			return chatter.AcceptResult{}, fmt.Errorf("pgstore: save message %s: %w", m.Key, err)
		}
		return chatter.AcceptResult{}, fmt.Errorf("pgstore: save message: %w", err)
	}
	res, err := s.gc.Submit(ctx, r)
	// Submit returns ctx.Err() itself (not wrapped) when ctx ended first.
	if err != nil && err == ctx.Err() {
		return chatter.AcceptResult{}, fmt.Errorf("pgstore: save message %s: %w", m.Key, err)
	}
	return res, err
}

// SaveRejected implements chatter.MessageStore: m, refused at intake, is
// recorded as StateRejected with r; no delivery is enqueued. A key already
// stored is a no-op with Duplicate set.
func (s *Store) SaveRejected(ctx context.Context, m *chatter.Message, r *chatter.Rejection) (chatter.AcceptResult, error) {
	if r == nil {
		return chatter.AcceptResult{}, fmt.Errorf("pgstore: save rejected: %w", invalid("rejection", "не указана причина отказа", "rejection is nil"))
	}
	row, err := prepare(m, chatter.AcceptOptions{})
	if err != nil {
		if m != nil {
			return chatter.AcceptResult{}, fmt.Errorf("pgstore: save rejected %s: %w", m.Key, err)
		}
		return chatter.AcceptResult{}, fmt.Errorf("pgstore: save rejected: %w", err)
	}
	rej, err := json.Marshal(r)
	if err != nil {
		return chatter.AcceptResult{}, fmt.Errorf("pgstore: save rejected %s: %w", m.Key, invalid("rejection", "причина отказа не кодируется в JSON", err.Error()))
	}
	for _, f := range []string{r.Field, r.Reason.RU, r.Reason.EN, r.Key, r.Raw} {
		if err := checkText("rejection", f); err != nil {
			return chatter.AcceptResult{}, fmt.Errorf("pgstore: save rejected %s: %w", m.Key, err)
		}
	}
	now := s.stamp()
	k := m.Key
	var res chatter.AcceptResult
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var st string
		var inserted bool
		err := tx.QueryRow(ctx, s.q(`WITH ins AS (
			INSERT INTO {schema}chatter_messages
				(workspace, source, account, chat_id, message_id, revision, body, state, verdict, priority, max_attempts,
				 error_class, last_error, rejection, received_at, updated_at, budget_start, text_fold)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'rejected', $8, 0, 0, $9, $10, $11, $12, $12, $12, $13)
			ON CONFLICT ON CONSTRAINT chatter_messages_key DO NOTHING
			RETURNING state
		)
		SELECT state, true FROM ins
		UNION ALL
		SELECT state, false FROM {schema}chatter_messages
		WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4 AND message_id = $5 AND revision = $6
			AND NOT EXISTS (SELECT 1 FROM ins)`),
			m.Workspace, string(k.Source), k.Account, k.ChatID, k.MessageID, k.Revision, row.body, row.verdict,
			string(chatter.ClassInvalid), r.Text().EN, rej, now, row.fold).Scan(&st, &inserted)
		if errors.Is(err, pgx.ErrNoRows) {
			// Inserted concurrently by a transaction this snapshot cannot see.
			err = tx.QueryRow(ctx, s.q(stateSQL), keyArgs(m.Workspace, k)...).Scan(new(int64), &st, &inserted)
		}
		if err != nil {
			return err
		}
		res = chatter.AcceptResult{Duplicate: !inserted, State: chatter.State(st)}
		return nil
	})
	if err != nil {
		return chatter.AcceptResult{}, fmt.Errorf("pgstore: save rejected %s: %w", k, err)
	}
	return res, nil
}

// commitRows is the group commit's CommitFunc: one transaction for rows.
func (s *Store) commitRows(ctx context.Context, rows []row) ([]chatter.AcceptResult, []error, error) {
	out, err := s.saveRows(ctx, rows)
	return out, nil, err
}

// SaveMessages implements chatter.MessageStore: one transaction, one round
// trip for the rows (a pgx batch) and one InsertManyTx for the jobs. Every
// message is validated before anything is written.
func (s *Store) SaveMessages(ctx context.Context, ms []*chatter.Message, opts []chatter.AcceptOptions) ([]chatter.AcceptResult, error) {
	if len(ms) != len(opts) {
		return nil, fmt.Errorf("pgstore: save messages: %w", invalid("opts",
			fmt.Sprintf("%d сообщений, но %d наборов параметров", len(ms), len(opts)),
			fmt.Sprintf("%d messages but %d options", len(ms), len(opts))))
	}
	if len(ms) == 0 {
		return []chatter.AcceptResult{}, nil
	}
	rows := make([]row, len(ms))
	for i, m := range ms {
		r, err := prepare(m, opts[i])
		if err != nil {
			if m != nil {
				return nil, fmt.Errorf("pgstore: save message %d (%s): %w", i, m.Key, err)
			}
			return nil, fmt.Errorf("pgstore: save message %d: %w", i, err)
		}
		rows[i] = r
	}
	return s.saveRows(ctx, rows)
}

// saveRows writes prepared rows and their delivery jobs in one transaction;
// results are in input order.
func (s *Store) saveRows(ctx context.Context, rows []row) ([]chatter.AcceptResult, error) {
	now := s.stamp()
	out := make([]chatter.AcceptResult, len(rows))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		res := make([]saved, len(rows))
		if len(rows) == 1 {
			if err := s.saveOne(ctx, tx, &rows[0], now, &res[0]); err != nil {
				return err
			}
		} else {
			b := &pgx.Batch{}
			for i := range rows {
				b.Queue(s.q(saveSQL), rows[i].args(now)...)
			}
			br := tx.SendBatch(ctx, b)
			for i := range rows {
				err := br.QueryRow().Scan(&res[i].id, &res[i].state, &res[i].inserted)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					_ = br.Close()
					return fmt.Errorf("pgstore: save message %s: %w", rows[i].m.Key, err)
				}
			}
			if err := br.Close(); err != nil {
				return fmt.Errorf("pgstore: save messages: %w", err)
			}
			for i := range rows {
				if res[i].id == 0 {
					if err := s.reread(ctx, tx, &rows[i], &res[i]); err != nil {
						return err
					}
				}
			}
		}
		var jobs []deliveryqueue.NewDelivery
		for i, r := range rows {
			out[i] = chatter.AcceptResult{Duplicate: !res[i].inserted, State: chatter.State(res[i].state)}
			if res[i].inserted && r.state == chatter.StateQueued {
				jobs = append(jobs, deliveryqueue.NewDelivery{MessageID: res[i].id, Workspace: r.m.Workspace, Priority: r.opts.Priority})
			}
		}
		if err := s.queue.Enqueue(ctx, tx, jobs); err != nil {
			return fmt.Errorf("pgstore: enqueue deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) saveOne(ctx context.Context, tx pgx.Tx, r *row, now time.Time, res *saved) error {
	err := tx.QueryRow(ctx, s.q(saveSQL), r.args(now)...).Scan(&res.id, &res.state, &res.inserted)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.reread(ctx, tx, r, res)
	}
	if err != nil {
		return fmt.Errorf("pgstore: save message %s: %w", r.m.Key, err)
	}
	return nil
}

// reread reads the state of a key that a concurrent transaction inserted.
func (s *Store) reread(ctx context.Context, tx pgx.Tx, r *row, res *saved) error {
	a := r.args(time.Time{})
	err := tx.QueryRow(ctx, s.q(stateSQL), a[:6]...).Scan(&res.id, &res.state, &res.inserted)
	if err != nil {
		return fmt.Errorf("pgstore: save message %s: read existing: %w", r.m.Key, err)
	}
	return nil
}

const entryColumns = `workspace, source, account, chat_id, message_id, revision, state, verdict, priority,
	attempts, error_class, last_error, result, received_at, updated_at, delivered_at, next_at, rejection`

// scanEntry reads entryColumns, plus body and raw when withMessage.
func scanEntry(rows pgx.Row, withMessage bool) (*chatter.LedgerEntry, error) {
	var (
		e                 chatter.LedgerEntry
		source, state     string
		class             string
		verdict, result   []byte
		rejection         []byte
		delivered, nextAt *time.Time
		body, raw         []byte
	)
	dest := []any{&e.Workspace, &source, &e.Key.Account, &e.Key.ChatID, &e.Key.MessageID, &e.Key.Revision,
		&state, &verdict, &e.Priority, &e.Attempts, &class, &e.LastError, &result,
		&e.ReceivedAt, &e.UpdatedAt, &delivered, &nextAt, &rejection}
	if withMessage {
		dest = append(dest, &body, &raw)
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	e.Key.Source = chatter.SourceKind(source)
	e.State = chatter.State(state)
	e.ErrorClass = chatter.ErrorClass(class)
	e.ReceivedAt, e.UpdatedAt = e.ReceivedAt.UTC(), e.UpdatedAt.UTC()
	e.DeliveredAt, e.NextAt = utc(delivered), utc(nextAt)
	if err := json.Unmarshal(verdict, &e.Verdict); err != nil {
		return nil, fmt.Errorf("pgstore: decode verdict of %s: %w", e.Key, err)
	}
	if len(result) > 0 {
		e.Result = new(chatter.DeliveryResult)
		if err := json.Unmarshal(result, e.Result); err != nil {
			return nil, fmt.Errorf("pgstore: decode result of %s: %w", e.Key, err)
		}
	}
	if len(rejection) > 0 {
		e.Rejection = new(chatter.Rejection)
		if err := json.Unmarshal(rejection, e.Rejection); err != nil {
			return nil, fmt.Errorf("pgstore: decode rejection of %s: %w", e.Key, err)
		}
	}
	if withMessage {
		m, err := decodeMessage(body, raw)
		if err != nil {
			return nil, fmt.Errorf("pgstore: decode message %s: %w", e.Key, err)
		}
		e.Message = m
	}
	return &e, nil
}

func decodeMessage(body, raw []byte) (*chatter.Message, error) {
	m := new(chatter.Message)
	if err := json.Unmarshal(body, m); err != nil {
		return nil, err
	}
	if len(raw) > 0 {
		m.Raw = json.RawMessage(raw)
	}
	return m, nil
}

func needWorkspace(ws string) error {
	if ws == "" {
		return invalid("workspace", "не указано рабочее пространство", "workspace is empty")
	}
	return checkText("workspace", ws)
}

// GetEntry implements chatter.MessageStore.
func (s *Store) GetEntry(ctx context.Context, workspace string, key chatter.Key) (*chatter.LedgerEntry, error) {
	if err := needWorkspace(workspace); err != nil {
		return nil, fmt.Errorf("pgstore: get entry: %w", err)
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: get entry: %w", err)
	}
	row := s.pool.QueryRow(ctx, s.q(`SELECT `+entryColumns+`, body, raw FROM {schema}chatter_messages
		WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4 AND message_id = $5 AND revision = $6`),
		workspace, string(key.Source), key.Account, key.ChatID, key.MessageID, key.Revision)
	e, err := scanEntry(row, true)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: get entry %s: %w", key, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get entry %s: %w", key, err)
	}
	return e, nil
}

func checkLedgerQuery(q chatter.LedgerQuery) (int, error) {
	if err := needWorkspace(q.Workspace); err != nil {
		return 0, err
	}
	for _, st := range q.States {
		if !validState(st) {
			return 0, invalid("states", "неизвестное состояние "+strconv.Quote(string(st)), "unknown state "+strconv.Quote(string(st)))
		}
	}
	for _, f := range []struct{ name, v string }{
		{"source", string(q.Source)}, {"account", q.Account}, {"error_class", string(q.ErrorClass)},
	} {
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

// checkCursorKey validates LedgerQuery.CursorKey.
func checkCursorKey(k chatter.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := checkText("cursor_key.source", string(k.Source)); err != nil {
		return err
	}
	return checkText("cursor_key.account", k.Account)
}

func validState(st chatter.State) bool {
	for _, s := range chatter.AllStates {
		if s == st {
			return true
		}
	}
	return false
}

// ledgerWhere renders q's filters (not Limit, the order or the cursors) as
// a WHERE clause.
func ledgerWhere(q chatter.LedgerQuery) (string, []any) {
	var w where
	w.add("workspace = ?", q.Workspace)
	if !q.From.IsZero() {
		w.add("received_at >= ?", q.From)
	}
	if !q.To.IsZero() {
		w.add("received_at < ?", q.To)
	}
	if len(q.States) > 0 {
		states := make([]string, len(q.States))
		for i, st := range q.States {
			states[i] = string(st)
		}
		w.add("state = ANY(?)", states)
	}
	if q.Source != "" {
		w.add("source = ?", string(q.Source))
	}
	if q.Account != "" {
		w.add("account = ?", q.Account)
	}
	if q.ChatID != 0 {
		w.add("chat_id = ?", q.ChatID)
	}
	if q.ErrorClass != "" {
		w.add("error_class = ?", string(q.ErrorClass))
	}
	if q.NewLead {
		w.cond("new_lead") // implies state 'delivered'; see chatter_messages_new_lead
	}
	if p := foldText(q.Text); p != "" {
		// strpos is a plain substring search: % and _ are literal.
		w.add("strpos(text_fold, ?) > 0", p)
	}
	return w.sql(), w.args
}

// where builds a WHERE clause from conditions with one '?' each.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

// cond adds a condition without arguments.
func (w *where) cond(c string) { w.conds = append(w.conds, c) }

func (w *where) sql() string { return " WHERE " + strings.Join(w.conds, " AND ") }

// cursorBound is one row-value bound on (received_at, id), the listing's
// order.
type cursorBound struct {
	at time.Time
	id int64
}

// Ids bounding a row-value comparison from below and above.
const (
	minID = int64(math.MinInt64)
	maxID = int64(math.MaxInt64)
)

// cursorBounds turns q's cursors (Before, After and CursorKey, see
// chatter.LedgerQuery) into row-value bounds: (received_at, id) < before
// and (received_at, id) > after, nil for none. Without CursorKey's entry a
// cursor is strict: (T, min) and (T, max). The cursor in the listing's
// direction keeps, with the entry at (rk, k), the entries at exactly T
// that come after it: id k when rk = T, all of them when rk lies before T
// in the listing's order. received_at has microseconds: a T between two
// microseconds bounds as the microsecond below it with the max id, which
// keeps exactly the entries strictly before or after T.
func (s *Store) cursorBounds(ctx context.Context, q chatter.LedgerQuery) (before, after *cursorBound, err error) {
	bound := func(t time.Time, strict, all int64, keyed bool) (*cursorBound, error) {
		if t.IsZero() {
			return nil, nil
		}
		if u := t.Truncate(time.Microsecond); !u.Equal(t) {
			return &cursorBound{u, maxID}, nil
		}
		if !keyed || q.CursorKey == (chatter.Key{}) {
			return &cursorBound{t, strict}, nil
		}
		var rk time.Time
		var id int64
		err := s.pool.QueryRow(ctx, s.q(`SELECT received_at, id FROM {schema}chatter_messages
			WHERE workspace = $1 AND source = $2 AND account = $3 AND chat_id = $4 AND message_id = $5 AND revision = $6`),
			keyArgs(q.Workspace, q.CursorKey)...).Scan(&rk, &id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return &cursorBound{t, strict}, nil
		case err != nil:
			return nil, fmt.Errorf("cursor key %s: %w", q.CursorKey, err)
		case rk.Equal(t):
			return &cursorBound{t, id}, nil
		case rk.After(t) != q.Oldest: // the entry is listed before t
			return &cursorBound{t, all}, nil
		}
		return &cursorBound{t, strict}, nil
	}
	if before, err = bound(q.Before, minID, maxID, !q.Oldest); err != nil {
		return nil, nil, err
	}
	if after, err = bound(q.After, maxID, minID, q.Oldest); err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

// ListEntries implements chatter.MessageStore: newest first (ties by
// insertion order, the last first) or, with q.Oldest, oldest first (the
// first saved first), within q's cursors.
func (s *Store) ListEntries(ctx context.Context, q chatter.LedgerQuery) ([]*chatter.LedgerEntry, error) {
	limit, err := checkLedgerQuery(q)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list entries: %w", err)
	}
	if q.CursorKey != (chatter.Key{}) {
		if err := checkCursorKey(q.CursorKey); err != nil {
			return nil, fmt.Errorf("pgstore: list entries: cursor key: %w", err)
		}
	}
	before, after, err := s.cursorBounds(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list entries: %w", err)
	}
	cond, args := ledgerWhere(q)
	for _, b := range []struct {
		op string
		c  *cursorBound
	}{{"<", before}, {">", after}} {
		if b.c != nil {
			args = append(args, b.c.at, b.c.id)
			cond += fmt.Sprintf(" AND (received_at, id) %s ($%d, $%d)", b.op, len(args)-1, len(args))
		}
	}
	order := "received_at DESC, id DESC"
	if q.Oldest {
		order = "received_at, id"
	}
	cols := entryColumns
	if q.WithMessage {
		cols += ", body, raw"
	}
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, s.q(`SELECT `+cols+` FROM {schema}chatter_messages`+cond+
		` ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args))), args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list entries: %w", err)
	}
	defer rows.Close()
	out := []*chatter.LedgerEntry{}
	for rows.Next() {
		e, err := scanEntry(rows, q.WithMessage)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list entries: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list entries: %w", err)
	}
	return out, nil
}

// CountEntries implements chatter.MessageStore. States with no entries are
// absent from the map.
func (s *Store) CountEntries(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error) {
	if _, err := checkLedgerQuery(q); err != nil {
		return nil, fmt.Errorf("pgstore: count entries: %w", err)
	}
	cond, args := ledgerWhere(q)
	out, err := countBy[chatter.State](ctx, s, `SELECT state, count(*) FROM {schema}chatter_messages`+cond+` GROUP BY state`, args)
	if err != nil {
		return nil, fmt.Errorf("pgstore: count entries: %w", err)
	}
	return out, nil
}

// countBy runs a "SELECT key, count(*) … GROUP BY key" query into a map.
func countBy[K ~string](ctx context.Context, s *Store, query string, args []any) (map[K]int, error) {
	rows, err := s.pool.Query(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[K]int)
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[K(k)] = n
	}
	return out, rows.Err()
}
