package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// Live updates of the ledger and the event log: Server-Sent Events that
// poll the store. static/live.js opens them and inserts the rows; without
// it the pages have a refresh link.
const (
	livePoll      = time.Second      // how often a stream looks at the store
	liveHeartbeat = 15 * time.Second // a comment line on an idle stream, against proxies that close idle connections
	liveRecheck   = 5 * time.Second  // the session and the workspace are checked again
	liveLifetime  = 10 * time.Minute // a stream ends then; the page opens a new one from where it is
	liveShortLife = 90 * time.Second // the lifetime when write deadlines cannot be moved (the server's WriteTimeout is 2 minutes)
	liveWriteWait = 30 * time.Second // each write's deadline
	liveBatchMax  = 100              // new rows sent per poll; beyond, a "gap" event says to reload
	liveWatchMax  = 100              // ledger entries followed for changes
)

// liveStream is one text/event-stream answer.
type liveStream struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	deadlines bool      // write deadlines can be moved
	last      time.Time // of the last write
}

// openLive starts an event stream, or answers 500 when the connection
// cannot flush (nothing would reach the browser in time).
func (s *server) openLive(w http.ResponseWriter, r *http.Request) (*liveStream, bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	ls := &liveStream{w: w, rc: http.NewResponseController(w)}
	ls.deadlines = ls.rc.SetWriteDeadline(time.Now().Add(liveWriteWait)) == nil
	if err := ls.rc.Flush(); err != nil { // sends the header
		if errors.Is(err, http.ErrNotSupported) {
			h.Del("X-Accel-Buffering")
			s.serverError(w, r, errors.New("web: live updates: the response cannot be flushed"))
		}
		return nil, false
	}
	if err := ls.write(": stream open\n\n"); err != nil {
		return nil, false
	}
	return ls, true
}

func (ls *liveStream) write(s string) error {
	if ls.deadlines {
		_ = ls.rc.SetWriteDeadline(time.Now().Add(liveWriteWait))
	}
	if _, err := ls.w.Write([]byte(s)); err != nil {
		return err
	}
	ls.last = time.Now()
	return ls.rc.Flush()
}

// send writes one event; data may span lines.
func (ls *liveStream) send(event, data string) error {
	var b strings.Builder
	b.WriteString("event: " + event + "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: " + strings.TrimSuffix(line, "\r") + "\n")
	}
	b.WriteString("\n")
	return ls.write(b.String())
}

// runLive calls poll every livePoll until the client goes away, the
// stream's lifetime ends, poll fails, or the session ends or loses the
// workspace ws (then an "end" event tells the page to stop). Idle streams
// get a heartbeat comment.
func (s *server) runLive(r *http.Request, ls *liveStream, ws string, poll func(ctx context.Context) error) {
	ctx := r.Context()
	life := liveLifetime
	if !ls.deadlines {
		life = liveShortLife
	}
	tick := time.NewTicker(livePoll)
	defer tick.Stop()
	start := time.Now()
	checked := start
	for {
		if err := poll(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "web: live updates stopped", slog.String(chatter.AttrCategory, chatter.CategorySystem),
					slog.String(chatter.AttrWorkspace, auth.ServerWorkspace), slog.String("route", r.Pattern), slog.String("err", err.Error()))
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		if now.Sub(start) >= life {
			return
		}
		if now.Sub(checked) >= liveRecheck {
			checked = now
			if !s.liveAllowed(ctx, r, ws) {
				_ = ls.send("end", "")
				return
			}
		}
		if now.Sub(ls.last) >= liveHeartbeat {
			if err := ls.write(": ping\n\n"); err != nil {
				return
			}
		}
	}
}

// liveAllowed looks the stream's session up again: it may have ended, or
// its user lost workspace ws. A store that does not answer is not a reason
// to end (the next poll fails then).
func (s *server) liveAllowed(ctx context.Context, r *http.Request, ws string) bool {
	st := state(r)
	_, u, err := s.auth.LookupSession(ctx, st.token)
	if errors.Is(err, auth.ErrNoSession) {
		return false
	}
	if err != nil {
		return true
	}
	if ws == auth.ServerWorkspace {
		return u.IsAdmin()
	}
	return u.CanAccess(ws)
}
