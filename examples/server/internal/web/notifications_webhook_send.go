package web

import (
	"net/http"

	"github.com/chatterhq/sdk/chatter/webhooknotify"
)

// notificationsWebhookSend posts a signed test notification (one attempt)
// to a saved webhook target (form field index). The page names the target
// by its masked URL only.
func (s *server) notificationsWebhookSend(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ws, ok := s.notifWorkspace(w, r, r.PathValue("ws"))
	if !ok {
		return
	}
	hooks := ws.Config.Notifications.Webhooks
	i, ok := notifIndex(newForm(r.PostForm), len(hooks))
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "notifications.error.no_route")
		return
	}
	h := hooks[i]
	// The URL is a workspace admin's: only public addresses unless the
	// server allows more (as the app's notifiers do).
	wn, err := webhooknotify.New(webhooknotify.Config{URLs: []string{h.URL}, Secret: []byte(h.Secret), MaxAttempts: 1,
		RequestTimeout: notifTimeout, AllowPrivate: s.app.Config().Notify.Webhook.AllowPrivate, Logger: s.log})
	if err == nil {
		ctx, cancel := notifSendContext(r)
		defer cancel()
		err = wn.Notify(ctx, notifTest(ws.ID, s.now()))
	}
	s.notifSendResult(r, ws, "webhook", notifMaskURL(h.URL), err)
	redirect(w, r, ws.page("webhooks"))
}
