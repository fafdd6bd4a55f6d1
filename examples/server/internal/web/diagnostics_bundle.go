package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// diagnosticsBundle streams the support bundle (a zip with the report, the
// redacted configuration, the ledger's counts and the recent warnings and
// errors; no secret in it: see doctor.Bundle) as a download. Administrators
// only; the download goes to the event log.
func (s *server) diagnosticsBundle(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	name := "chatter-bundle-" + time.Now().UTC().Format("20060102-150405") + ".zip"
	cw := &diagCountingWriter{w: w, start: func() {
		h := w.Header()
		h.Set("Content-Type", "application/zip")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.WriteHeader(http.StatusOK)
	}}
	err := s.app.WriteBundle(r.Context(), cw)
	attrs := []slog.Attr{slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, auth.ServerWorkspace),
		slog.String("by", u.Login), slog.String("addr", s.clientAddr(r)), slog.Int64("bytes", cw.n)}
	switch {
	case err == nil:
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "support bundle downloaded", attrs...)
	case !cw.started && !errors.Is(err, context.Canceled):
		// Nothing was sent yet: the browser gets the error page.
		s.serverError(w, r, err)
	default:
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "support bundle cut short",
			append(attrs, slog.String("err", err.Error()))...)
	}
}

// diagCountingWriter sends the headers of a download before its first byte
// (so that a failure before any byte can still answer with an error page)
// and counts the bytes.
type diagCountingWriter struct {
	w       http.ResponseWriter
	start   func()
	started bool
	n       int64
}

func (c *diagCountingWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !c.started {
		c.start()
		c.started = true
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
