package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// amocrmSubscribe subscribes the server's webhook in amoCRM ("Подписать"):
// it turns the workspace's webhooks on when they are off (they need the
// public URL) and registers the URL for the events the server acts on.
func (s *server) amocrmSubscribe(w http.ResponseWriter, r *http.Request) {
	rt, _, ok := s.amoPostWorkspace(w, r)
	if !ok {
		return
	}
	fail := func(status int, text chatter.Text) {
		s.renderAmoCRM(w, r, status, rt, nil, &alert{Kind: "error", Text: text.In(requestLang(r))}, nil)
	}
	if s.app.Config().HTTP.PublicURL == "" {
		fail(http.StatusConflict, chatter.T(s.i18n.T("ru", "amocrm.hooks_need_public_url"), s.i18n.T("en", "amocrm.hooks_need_public_url")))
		return
	}
	if !rt.Config.AmoCRM.Webhooks {
		wc := rt.Config
		wc.AmoCRM.Webhooks = true
		err := s.app.UpdateWorkspace(r.Context(), wc, currentUser(r).Login)
		var ps config.Problems
		if errors.As(err, &ps) {
			fail(http.StatusUnprocessableEntity, chatter.T(ps.Render("ru"), ps.Render("en")))
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if rt, ok = s.app.Runtime(rt.ID); !ok {
			s.errorPage(w, r, http.StatusNotFound, "amocrm.no_workspace")
			return
		}
	}
	dest := rt.AmoCRMWebhookURL
	ctx, cancel := context.WithTimeout(r.Context(), amoTimeout)
	defer cancel()
	if _, _, err := rt.AmoCRM.Webhooks.Subscribe(ctx, dest, amoWebhookEvents); err != nil {
		text := amoExplain(err)
		if amocrm.IsStatus(err, http.StatusForbidden) {
			text = chatter.T(s.i18n.T("ru", "amocrm.hooks_forbidden"), s.i18n.T("en", "amocrm.hooks_forbidden"))
		}
		fail(http.StatusBadGateway, text)
		return
	}
	s.amoLog(r, rt.ID, chatter.CategorySystem, "amoCRM webhook subscribed",
		slog.String("destination", s.amoMaskHook(rt.ID, dest)), slog.String("events", strings.Join(amoWebhookEvents, ",")))
	s.flashKey(r, "info", "amocrm.hooks_subscribed")
	redirect(w, r, "/amocrm?ws="+url.QueryEscape(rt.ID))
}
