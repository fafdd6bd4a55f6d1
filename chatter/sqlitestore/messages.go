package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/internal/deliveryqueue"
)

// prepared is a validated message with its encoded columns, ready to write.
// Encoding happens in the caller's goroutine, outside any transaction.
type prepared struct {
	m       *chatter.Message
	opts    chatter.AcceptOptions
	body    []byte
	verdict []byte
	fold    string // chatter.FoldText(m.Text), the text_fold column
}

func prepare(m *chatter.Message, opts chatter.AcceptOptions) (*prepared, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("sqlitestore: save message: %w", err)
	}
	if err := checkUTF8(m); err != nil {
		return nil, fmt.Errorf("sqlitestore: save message: %w", err)
	}
	if opts.Priority < 0 || opts.Priority > 3 {
		return nil, invalidf("save message %s: priority %d is outside 0..3", m.Key, opts.Priority)
	}
	if opts.MaxAttempts < 0 {
		return nil, invalidf("save message %s: max attempts %d, want ≥ 0 (0: no cap by count)", m.Key, opts.MaxAttempts)
	}
	c := *m
	c.Raw = nil // kept byte for byte in its own column
	body, err := json.Marshal(&c)
	if err != nil {
		return nil, invalidf("save message %s: encode: %v", m.Key, err)
	}
	verdict, err := json.Marshal(opts.Verdict)
	if err != nil {
		return nil, invalidf("save message %s: encode verdict: %v", m.Key, err)
	}
	return &prepared{m: m, opts: opts, body: body, verdict: verdict, fold: chatter.FoldText(m.Text)}, nil
}

// checkUTF8 rejects invalid UTF-8 in the string fields Message.Validate does
// not check: JSON would silently replace it, and the stored message would no
// longer be the one given.
func checkUTF8(m *chatter.Message) error {
	fields := []struct{ name, v string }{
		{"key.source", string(m.Key.Source)}, {"key.account", m.Key.Account}, {"workspace", m.Workspace},
		{"chat.type", string(m.Chat.Type)}, {"chat.username", m.Chat.Username},
		{"sender.username", m.Sender.Username}, {"sender.phone", m.Sender.Phone}, {"sender.language", m.Sender.Language},
		{"link", m.Link},
	}
	for i, a := range m.Attachments {
		fields = append(fields,
			struct{ name, v string }{fmt.Sprintf("attachments[%d].kind", i), string(a.Kind)},
			struct{ name, v string }{fmt.Sprintf("attachments[%d].file_id", i), a.FileID},
			struct{ name, v string }{fmt.Sprintf("attachments[%d].name", i), a.Name},
			struct{ name, v string }{fmt.Sprintf("attachments[%d].mime_type", i), a.MIMEType})
	}
	for _, f := range fields {
		if !utf8.ValidString(f.v) {
			return &chatter.ValidationError{Field: f.name, Problem: chatter.T("поле не в кодировке UTF-8", "field is not valid UTF-8")}
		}
	}
	return nil
}

// SaveMessage stores m and, when opts.Verdict.Accept, enqueues its delivery
// (a River job) in the same transaction, returning after the commit.
// Concurrent calls share transactions (see GroupCommit); each caller still
// gets its own result, and an invalid message (or options: Priority outside
// 0..3, MaxAttempts < 1 for an accepted message) fails only its own call with
// an error wrapping chatter.ErrInvalid, before anything is written.
func (s *Store) SaveMessage(ctx context.Context, m *chatter.Message, opts chatter.AcceptOptions) (chatter.AcceptResult, error) {
	p, err := prepare(m, opts)
	if err != nil {
		return chatter.AcceptResult{}, err
	}
	if s.cfg.GroupCommit.Disabled {
		rs, err := s.saveBatch(ctx, []*prepared{p})
		if err != nil {
			return chatter.AcceptResult{}, err
		}
		return rs[0], nil
	}
	return s.gc.submit(ctx, p)
}

// SaveMessages stores a batch in one transaction; results are in input
// order. Any invalid message (or a length mismatch between ms and opts)
// fails the whole batch before anything is written.
func (s *Store) SaveMessages(ctx context.Context, ms []*chatter.Message, opts []chatter.AcceptOptions) ([]chatter.AcceptResult, error) {
	if len(ms) != len(opts) {
		return nil, invalidf("save messages: %d messages but %d options", len(ms), len(opts))
	}
	if len(ms) == 0 {
		return nil, nil
	}
	ps := make([]*prepared, len(ms))
	for i, m := range ms {
		p, err := prepare(m, opts[i])
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		ps[i] = p
	}
	return s.saveBatch(ctx, ps)
}

// SaveRejected records m, refused at intake, as StateRejected with r (see
// chatter.MessageStore); no delivery is enqueued. A key already stored is a
// no-op with Duplicate set.
func (s *Store) SaveRejected(ctx context.Context, m *chatter.Message, r *chatter.Rejection) (chatter.AcceptResult, error) {
	if r == nil {
		return chatter.AcceptResult{}, invalidf("save rejected: nil rejection")
	}
	p, err := prepare(m, chatter.AcceptOptions{})
	if err != nil {
		return chatter.AcceptResult{}, err
	}
	rej, err := json.Marshal(r)
	if err != nil {
		return chatter.AcceptResult{}, invalidf("save rejected %s: encode rejection: %v", m.Key, err)
	}
	if err := s.enter(); err != nil {
		return chatter.AcceptResult{}, err
	}
	defer s.leave()
	var res chatter.AcceptResult
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := nanos(s.now())
		k := m.Key
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO chatter_messages
			(workspace, source, account, chat_id, message_id, revision, state, verdict, priority, max_attempts,
			 error_class, last_error, received_at, updated_at, budget_start, body, rejection, text_fold)
			VALUES (?, ?, ?, ?, ?, ?, 'rejected', ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, source, account, chat_id, message_id, revision) DO NOTHING
			RETURNING id`,
			m.Workspace, string(k.Source), k.Account, k.ChatID, k.MessageID, k.Revision, string(p.verdict),
			string(chatter.ClassInvalid), r.Text().EN, now, now, now, string(p.body), string(rej), p.fold).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			var st string
			if err := tx.QueryRowContext(ctx, `SELECT state FROM chatter_messages WHERE `+keyWhere, keyArgs(m.Workspace, k)...).Scan(&st); err != nil {
				return fmt.Errorf("duplicate %s: %w", k, err)
			}
			res = chatter.AcceptResult{Duplicate: true, State: chatter.State(st)}
			return nil
		}
		if err != nil {
			return err
		}
		res = chatter.AcceptResult{State: chatter.StateRejected}
		return nil
	})
	if err != nil {
		return chatter.AcceptResult{}, fmt.Errorf("sqlitestore: save rejected %s: %w", m.Key, err)
	}
	return res, nil
}

// saveBatch writes ps in one transaction.
func (s *Store) saveBatch(ctx context.Context, ps []*prepared) ([]chatter.AcceptResult, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	return s.saveTx(ctx, ps)
}

// saveTx is saveBatch for a caller that has already entered.
func (s *Store) saveTx(ctx context.Context, ps []*prepared) ([]chatter.AcceptResult, error) {
	var results []chatter.AcceptResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		results, err = s.writeMessages(ctx, tx, ps)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: save messages: %w", err)
	}
	return results, nil
}

const insertMessageSQL = `INSERT INTO chatter_messages
	(workspace, source, account, chat_id, message_id, revision, state, verdict, priority, max_attempts,
	 received_at, updated_at, next_at, body, raw, budget_start, text_fold)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (workspace, source, account, chat_id, message_id, revision) DO NOTHING
	RETURNING id`

const keyWhere = `workspace = ? AND source = ? AND account = ? AND chat_id = ? AND message_id = ? AND revision = ?`

func keyArgs(workspace string, k chatter.Key) []any {
	return []any{workspace, string(k.Source), k.Account, k.ChatID, k.MessageID, k.Revision}
}

// writeMessages inserts ps inside tx and enqueues one River job per accepted
// new message with a single InsertManyTx. Duplicates enqueue nothing.
func (s *Store) writeMessages(ctx context.Context, tx *sql.Tx, ps []*prepared) ([]chatter.AcceptResult, error) {
	stmt, err := tx.PrepareContext(ctx, insertMessageSQL)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	results := make([]chatter.AcceptResult, len(ps))
	var jobs []deliveryqueue.NewDelivery
	// One ReceivedAt for the transaction's messages, as the other stores
	// stamp a batch; ListEntries orders them by id, the order they are
	// written in.
	now := nanos(s.now())
	for i, p := range ps {
		state, nextAt := chatter.StateFiltered, any(nil)
		if p.opts.Verdict.Accept {
			state, nextAt = chatter.StateQueued, now
		}
		var raw any
		if len(p.m.Raw) > 0 {
			raw = []byte(p.m.Raw)
		}
		k := p.m.Key
		var id int64
		err := stmt.QueryRowContext(ctx, p.m.Workspace, string(k.Source), k.Account, k.ChatID, k.MessageID, k.Revision,
			string(state), string(p.verdict), p.opts.Priority, p.opts.MaxAttempts, now, now, nextAt, string(p.body), raw, now, p.fold).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var st string
			if err := tx.QueryRowContext(ctx, `SELECT state FROM chatter_messages WHERE `+keyWhere,
				keyArgs(p.m.Workspace, k)...).Scan(&st); err != nil {
				return nil, fmt.Errorf("duplicate %s: %w", k, err)
			}
			results[i] = chatter.AcceptResult{Duplicate: true, State: chatter.State(st)}
			continue
		case err != nil:
			return nil, fmt.Errorf("insert %s: %w", k, err)
		}
		results[i] = chatter.AcceptResult{State: state}
		if p.opts.Verdict.Accept {
			jobs = append(jobs, deliveryqueue.NewDelivery{MessageID: id, Workspace: p.m.Workspace, Priority: p.opts.Priority})
		}
	}
	if err := s.queue.Enqueue(ctx, tx, jobs); err != nil {
		return nil, fmt.Errorf("enqueue deliveries: %w", err)
	}
	return results, nil
}

const entryCols = `workspace, source, account, chat_id, message_id, revision, state, verdict, priority, attempts,
	error_class, last_error, result, received_at, updated_at, delivered_at, next_at, rejection`

type scanner interface{ Scan(dest ...any) error }

func scanEntry(row scanner, withMessage bool) (*chatter.LedgerEntry, error) {
	var (
		e                      chatter.LedgerEntry
		source, state, verdict string
		errClass               string
		result, rejection      sql.NullString
		received, updated      int64
		delivered, next        sql.NullInt64
		body                   string
		raw                    []byte
	)
	dest := []any{&e.Workspace, &source, &e.Key.Account, &e.Key.ChatID, &e.Key.MessageID, &e.Key.Revision,
		&state, &verdict, &e.Priority, &e.Attempts, &errClass, &e.LastError, &result,
		&received, &updated, &delivered, &next, &rejection}
	if withMessage {
		dest = append(dest, &body, &raw)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	e.Key.Source = chatter.SourceKind(source)
	e.State = chatter.State(state)
	e.ErrorClass = chatter.ErrorClass(errClass)
	e.ReceivedAt, e.UpdatedAt = fromNanos(received), fromNanos(updated)
	e.DeliveredAt, e.NextAt = fromNullNanos(delivered), fromNullNanos(next)
	if err := json.Unmarshal([]byte(verdict), &e.Verdict); err != nil {
		return nil, fmt.Errorf("decode verdict of %s: %w", e.Key, err)
	}
	if result.Valid {
		e.Result = new(chatter.DeliveryResult)
		if err := json.Unmarshal([]byte(result.String), e.Result); err != nil {
			return nil, fmt.Errorf("decode result of %s: %w", e.Key, err)
		}
	}
	if rejection.Valid {
		e.Rejection = new(chatter.Rejection)
		if err := json.Unmarshal([]byte(rejection.String), e.Rejection); err != nil {
			return nil, fmt.Errorf("decode rejection of %s: %w", e.Key, err)
		}
	}
	if withMessage {
		m, err := decodeMessage(body, raw)
		if err != nil {
			return nil, fmt.Errorf("decode message %s: %w", e.Key, err)
		}
		m.Workspace, m.Key = e.Workspace, e.Key // the columns are authoritative
		e.Message = m
	}
	return &e, nil
}

func decodeMessage(body string, raw []byte) (*chatter.Message, error) {
	m := new(chatter.Message)
	if err := json.Unmarshal([]byte(body), m); err != nil {
		return nil, err
	}
	if len(raw) > 0 {
		m.Raw = json.RawMessage(append([]byte(nil), raw...))
	}
	return m, nil
}

// GetEntry returns the ledger entry of key in workspace with its message, or
// an error wrapping chatter.ErrNotFound.
func (s *Store) GetEntry(ctx context.Context, workspace string, key chatter.Key) (*chatter.LedgerEntry, error) {
	if workspace == "" {
		return nil, invalidf("get entry: empty workspace")
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	row := s.db.QueryRowContext(ctx, `SELECT `+entryCols+`, body, raw FROM chatter_messages WHERE `+keyWhere,
		keyArgs(workspace, key)...)
	e, err := scanEntry(row, true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: entry %s: %w", key, chatter.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: entry %s: %w", key, err)
	}
	return e, nil
}

// ledgerWhere renders q's filters, not its cursors (see cursorWhere).
func ledgerWhere(q chatter.LedgerQuery) (string, []any, error) {
	if q.Workspace == "" {
		return "", nil, invalidf("ledger query: empty workspace")
	}
	if !utf8.ValidString(q.Text) {
		return "", nil, invalidf("ledger query: search text is not valid UTF-8")
	}
	var b strings.Builder
	args := []any{q.Workspace}
	b.WriteString("workspace = ?")
	add := func(cond string, v ...any) {
		b.WriteString(" AND ")
		b.WriteString(cond)
		args = append(args, v...)
	}
	if !q.From.IsZero() {
		add("received_at >= ?", nanos(q.From))
	}
	if !q.To.IsZero() {
		add("received_at < ?", nanos(q.To))
	}
	if len(q.States) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(q.States)), ",")
		vs := make([]any, len(q.States))
		for i, st := range q.States {
			vs[i] = string(st)
		}
		add("state IN ("+ph+")", vs...)
	}
	if q.Source != "" {
		add("source = ?", string(q.Source))
	}
	if q.Account != "" {
		add("account = ?", q.Account)
	}
	if q.ChatID != 0 {
		add("chat_id = ?", q.ChatID)
	}
	if q.ErrorClass != "" {
		add("error_class = ?", string(q.ErrorClass))
	}
	if q.NewLead {
		add("new_lead = 1") // implies state 'delivered'; see chatter_messages_new_lead
	}
	if p := chatter.FoldText(q.Text); p != "" {
		// instr is a plain substring search: % and _ are literal.
		add("instr(text_fold, ?) > 0", p)
	}
	return b.String(), args, nil
}

// cursorWhere renders q's cursors (Before, After and CursorKey, see
// chatter.LedgerQuery) as conditions starting with " AND ". The cursor in
// the listing's direction becomes a row-value bound on (received_at, id),
// the listing's order: with CursorKey's entry at (rk, k), entries at exactly
// the cursor's time T are kept when they come after that entry, which is id
// k when rk = T, all of them when rk lies before T in the listing's order,
// and none of them (a strict cursor) otherwise or without the entry.
func (s *Store) cursorWhere(ctx context.Context, q chatter.LedgerQuery) (string, []any, error) {
	var b strings.Builder
	var args []any
	bound := func(op string, t time.Time, id int64) {
		fmt.Fprintf(&b, " AND (received_at, id) %s (?, ?)", op)
		args = append(args, nanos(t), id)
	}
	// With no key, the strict cursors: (received_at, id) < (T, min) is
	// received_at < T, and (received_at, id) > (T, max) is received_at > T.
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Before.IsZero() {
		id := lo
		if !q.Oldest {
			var err error
			if id, err = s.cursorID(ctx, q, q.Before, lo, hi); err != nil {
				return "", nil, err
			}
		}
		bound("<", q.Before, id)
	}
	if !q.After.IsZero() {
		id := hi
		if q.Oldest {
			var err error
			if id, err = s.cursorID(ctx, q, q.After, hi, lo); err != nil {
				return "", nil, err
			}
		}
		bound(">", q.After, id)
	}
	return b.String(), args, nil
}

// cursorID is the id half of the row-value bound of the cursor t in the
// listing's direction: strict without CursorKey's entry or when the entry
// lies past t in the listing's order, all when it lies before t, and the
// entry's own id when it was received at t.
func (s *Store) cursorID(ctx context.Context, q chatter.LedgerQuery, t time.Time, strict, all int64) (int64, error) {
	if q.CursorKey == (chatter.Key{}) {
		return strict, nil
	}
	var received, id int64
	err := s.db.QueryRowContext(ctx, `SELECT received_at, id FROM chatter_messages WHERE `+keyWhere,
		keyArgs(q.Workspace, q.CursorKey)...).Scan(&received, &id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return strict, nil
	case err != nil:
		return 0, fmt.Errorf("sqlitestore: list entries: cursor key %s: %w", q.CursorKey, err)
	case received == nanos(t):
		return id, nil
	case (received > nanos(t)) != q.Oldest: // the entry is listed before t
		return all, nil
	}
	return strict, nil
}

// ListEntries returns entries matching q, newest first (by ReceivedAt, then
// by insertion order, the last first) or, with q.Oldest, oldest first (the
// first saved first), at most q.Limit (default 100, at most 1000), within
// q's cursors.
func (s *Store) ListEntries(ctx context.Context, q chatter.LedgerQuery) ([]*chatter.LedgerEntry, error) {
	if _, _, err := ledgerWhere(q); err != nil {
		return nil, err
	}
	if q.CursorKey != (chatter.Key{}) {
		if err := q.CursorKey.Validate(); err != nil {
			return nil, fmt.Errorf("sqlitestore: list entries: cursor key: %w", err)
		}
	}
	limit, err := limitOf(q.Limit)
	if err != nil {
		return nil, err
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	cursor, cargs, err := s.cursorWhere(ctx, q)
	if err != nil {
		return nil, err
	}
	order := "received_at DESC, id DESC"
	if q.Oldest {
		order = "received_at, id"
	}
	cols := entryCols
	if q.WithMessage {
		cols += ", body, raw"
	}
	// One state reads chatter_messages_state in order from the cursor on.
	// Several states in one IN list cannot: SQLite scans the workspace in
	// order instead, filtering by state, which reads the whole ledger when
	// the states are rare (the oldest waiting message, usually none). So
	// each state reads its own ordered range, at most limit rows, and the
	// ranges are merged.
	states := slices.Compact(slices.Sorted(slices.Values(q.States)))
	var query string
	var args []any
	if len(states) > 1 && len(states) <= len(chatter.AllStates) {
		parts := make([]string, len(states))
		for i, st := range states {
			one := q
			one.States = []chatter.State{st}
			where, wargs, _ := ledgerWhere(one)
			parts[i] = `SELECT * FROM (SELECT id, ` + cols + ` FROM chatter_messages WHERE ` + where + cursor +
				` ORDER BY ` + order + ` LIMIT ?)`
			args = append(append(append(args, wargs...), cargs...), limit)
		}
		query = `SELECT ` + cols + ` FROM (` + strings.Join(parts, ` UNION ALL `) + `) ORDER BY ` + order + ` LIMIT ?`
	} else {
		where, wargs, _ := ledgerWhere(q)
		query = `SELECT ` + cols + ` FROM chatter_messages WHERE ` + where + cursor + ` ORDER BY ` + order + ` LIMIT ?`
		args = append(append(args, wargs...), cargs...)
	}
	rows, err := s.db.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list entries: %w", err)
	}
	defer rows.Close()
	var out []*chatter.LedgerEntry
	for rows.Next() {
		e, err := scanEntry(rows, q.WithMessage)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list entries: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list entries: %w", err)
	}
	return out, nil
}

// CountEntries counts entries matching q by state, ignoring q.Limit, the
// order and the cursors (Before, After, CursorKey). States with no entries are absent from the map.
func (s *Store) CountEntries(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error) {
	where, args, err := ledgerWhere(q)
	if err != nil {
		return nil, err
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT state, count(*) FROM chatter_messages WHERE `+where+` GROUP BY state`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: count entries: %w", err)
	}
	defer rows.Close()
	out := make(map[chatter.State]int)
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlitestore: count entries: %w", err)
		}
		out[chatter.State(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: count entries: %w", err)
	}
	return out, nil
}
