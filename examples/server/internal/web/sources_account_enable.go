package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// sourceAccountEnable disables a parser account (after the confirmation
// checkbox: its chats move to the other accounts) or enables it again
// (POST /sources/{ws}/accounts/{acct}/enabled with enabled=0 or 1).
func (s *server) sourceAccountEnable(w http.ResponseWriter, r *http.Request) {
	ws, id, i, f, ok := s.sourceItemForm(w, r, "acct")
	if !ok {
		return
	}
	enable := f.Values.Get("enabled") == "1"
	if !enable && f.Values.Get("disable_confirm") != "yes" {
		f.failKey(s.i18n, "disable_confirm", "sources.confirm_needed")
		s.renderSourceAccount(w, r, http.StatusUnprocessableEntity, ws, id, f, nil, nil)
		return
	}
	wc := ws.Config
	wc.Parser.Accounts[i].Disabled = !enable
	other, err := s.sourceSave(r, ws, wc, f, srcScopeAccount(i), srcFields{})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceAccount(w, r, http.StatusUnprocessableEntity, ws, id, f, other, nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	msg, key := "parser account disabled", "sources.account.disabled_done"
	if enable {
		msg, key = "parser account enabled", "sources.account.enabled_done"
	}
	s.sourceEvent(r, ws.ID, chatter.CategorySource, msg, slog.String("account", id))
	s.flashKey(r, "info", key, id)
	redirect(w, r, ws.AccountURL(id))
}
