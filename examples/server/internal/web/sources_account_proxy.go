package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
)

// sourceAccountProxy sets a parser account's proxy (POST
// /sources/{ws}/accounts/{acct}/proxy with proxy), or removes it (remove=1
// with the confirmation checkbox). The stored proxy is never shown: an
// empty field keeps it.
func (s *server) sourceAccountProxy(w http.ResponseWriter, r *http.Request) {
	ws, id, i, f, ok := s.sourceItemForm(w, r, "acct")
	if !ok {
		return
	}
	srcTrim(f, "proxy")
	remove := f.Values.Get("remove") == "1"
	proxy := f.Values.Get("proxy")
	switch {
	case remove && f.Values.Get("remove_confirm") != "yes":
		f.failKey(s.i18n, "remove_confirm", "sources.confirm_needed")
	case !remove && proxy == "":
		f.failKey(s.i18n, "proxy", "sources.account.need_proxy")
	}
	if !f.ok() {
		s.renderSourceAccount(w, r, http.StatusUnprocessableEntity, ws, id, f, nil, nil)
		return
	}
	wc := ws.Config
	if remove {
		proxy = ""
	}
	wc.Parser.Accounts[i].Proxy = proxy
	other, err := s.sourceSave(r, ws, wc, f, srcScopeAccount(i), srcFields{"proxy": "proxy"})
	if errors.Is(err, errSrcProblems) {
		s.renderSourceAccount(w, r, http.StatusUnprocessableEntity, ws, id, f, other, nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if remove {
		s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser proxy removed", slog.String("account", id))
		s.flashKey(r, "info", "sources.account.proxy_removed", id)
	} else {
		s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser proxy set", slog.String("account", id),
			slog.String("proxy", srcAccountInfoOf(wc.Parser.Accounts[i]).Proxy))
		s.flashKey(r, "info", "sources.account.proxy_set", id)
	}
	redirect(w, r, ws.AccountURL(id))
}
