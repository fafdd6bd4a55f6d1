package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// sourceAccountCreate adds a parser account (POST /sources/{ws}/accounts):
// the application's api_id and api_hash from my.telegram.org, the phone
// and an optional proxy. The account signs in on its page afterwards.
func (s *server) sourceAccountCreate(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.sourceWorkspace(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	f := newForm(r.PostForm)
	srcTrim(f, "id", "api_id", "api_hash", "phone", "proxy")
	a := config.ParserAccount{ID: f.Values.Get("id"), APIHash: f.Values.Get("api_hash"), Phone: f.Values.Get("phone"), Proxy: f.Values.Get("proxy")}
	switch {
	case a.ID == "":
		f.failKey(s.i18n, "id", "sources.need_id")
	case ws.accountIndex(a.ID) >= 0:
		f.failKey(s.i18n, "id", "sources.account.id_taken")
	}
	if raw := f.Values.Get("api_id"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			f.failKey(s.i18n, "api_id", "sources.account.bad_api_id")
		}
		a.APIID = n
	}
	if !f.ok() {
		s.renderSourceAccountNew(w, r, http.StatusUnprocessableEntity, ws, f, nil)
		return
	}
	wc := ws.Config
	wc.Parser.Accounts = append(wc.Parser.Accounts, a)
	other, err := s.sourceSave(r, ws, wc, f, srcScopeAccount(len(wc.Parser.Accounts)-1),
		srcFields{"id": "id", "api_id": "api_id", "api_hash": "api_hash", "phone": "phone", "proxy": "proxy"})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceAccountNew(w, r, http.StatusUnprocessableEntity, ws, f, other)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser account added", slog.String("account", a.ID),
		slog.Bool("proxied", a.Proxy != ""))
	s.flashKey(r, "info", "sources.account.added", a.ID)
	redirect(w, r, ws.AccountURL(a.ID))
}
