package web

import (
	"log/slog"
	"net/http"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgparse"
)

// sourceAccountProxyCheck checks a proxy (POST
// /sources/{ws}/accounts/{acct}/proxy/check): the one typed into the form,
// before it is saved, or else the account's stored one. For SOCKS5 it
// connects through the proxy to Telegram's data centre
// (tgparse.ProxyCheck); the result says why it fails and what to do.
func (s *server) sourceAccountProxyCheck(w http.ResponseWriter, r *http.Request) {
	ws, id, i, f, ok := s.sourceItemForm(w, r, "acct")
	if !ok {
		return
	}
	srcTrim(f, "proxy")
	proxy, typed := f.Values.Get("proxy"), true
	if proxy == "" {
		proxy, typed = ws.Config.Parser.Accounts[i].Proxy, false
	}
	page := &srcAccountPage{}
	if proxy == "" {
		page.Result = &srcCheck{Kind: "info", Cause: s.srcText("sources.account.no_proxy")}
		s.renderSourceAccount(w, r, http.StatusOK, ws, id, f, nil, page)
		return
	}
	var ep *tgparse.Endpoint
	if ws.RT != nil && ws.RT.Parser != nil {
		ep = ws.RT.Parser.Connection.Endpoint
	}
	ctx, cancel := srcRemote(r)
	res := tgparse.ProxyCheck(tgparse.Account{ID: id, Proxy: proxy}, ep).Run(ctx)
	cancel()
	cv := srcCheckOf(res)
	if res.Status == chatter.StatusOK {
		cv.Cause = s.srcText("sources.account.proxy_ok", res.Details["proxy"])
	}
	page.Result = &cv
	s.sourceEvent(r, ws.ID, chatter.CategorySource, "parser proxy checked", slog.String("account", id),
		slog.Bool("typed", typed), slog.String("status", string(res.Status)))
	s.renderSourceAccount(w, r, http.StatusOK, ws, id, f, nil, page)
}
