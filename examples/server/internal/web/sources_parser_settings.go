package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// sourceParserSettings saves the workspace's parser settings (POST
// /sources/{ws}/parser): the poll interval, the default depth of a chat's
// first read and the chats per account.
func (s *server) sourceParserSettings(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	wc := ws.Config
	p := &wc.Parser
	if d, err := config.ParseDuration(strings.TrimSpace(f.Values.Get("poll_interval"))); err != nil {
		f.failKey(s.i18n, "poll_interval", "sources.parser.bad_interval")
	} else if d <= 0 {
		// Zero would silently mean the default.
		f.failKey(s.i18n, "poll_interval", "sources.parser.interval_min")
	} else {
		p.PollInterval = d
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f.Values.Get("max_chats"))); err != nil {
		f.failKey(s.i18n, "max_chats", "sources.parser.bad_max_chats")
	} else if n < 1 {
		f.failKey(s.i18n, "max_chats", "sources.parser.max_chats_min")
	} else {
		p.MaxChatsPerAccount = n
	}
	p.Depth = s.srcReadDepth(f, "depth_count", "depth_since")
	if !f.ok() {
		s.renderSourceChats(w, r, http.StatusUnprocessableEntity, ws, f, nil)
		return
	}
	other, err := s.sourceSave(r, ws, wc, f, "parser", srcFields{"poll_interval": "poll_interval",
		"max_chats_per_account": "max_chats", "depth.count": "depth_count", "depth.since": "depth_since"})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceChats(w, r, http.StatusUnprocessableEntity, ws, f, other)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser settings changed", slog.String("poll_interval", srcDuration(p.PollInterval.D())),
		slog.Int("depth_count", p.Depth.Count), slog.String("depth_since", p.Depth.Since), slog.Int("max_chats_per_account", p.MaxChatsPerAccount))
	s.flashKey(r, "info", "sources.parser.saved")
	redirect(w, r, ws.ChatsURL())
}
