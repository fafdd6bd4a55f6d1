package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
)

// notificationsTelegramSend sends a test notification to the chat of a
// saved Telegram route (form field index), through a tgbot.Notifier on the
// route's bot, in the route's language.
func (s *server) notificationsTelegramSend(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ws, ok := s.notifWorkspace(w, r, r.PathValue("ws"))
	if !ok {
		return
	}
	routes := ws.Config.Notifications.Telegram
	i, ok := notifIndex(newForm(r.PostForm), len(routes))
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "notifications.error.no_route")
		return
	}
	rt := routes[i]
	target := rt.Bot + " → " + strconv.FormatInt(rt.ChatID, 10)
	var client *tgbot.Client
	if ws.RT != nil {
		for _, b := range ws.RT.Bots {
			if b.Config.ID == rt.Bot {
				client = b.Client
			}
		}
	}
	if client == nil {
		s.flash(r, "error", s.notifText("notifications.tg.no_bot", rt.Bot))
		redirect(w, r, ws.page("telegram"))
		return
	}
	tn, err := tgbot.NewNotifier(tgbot.NotifierConfig{Client: client, ChatIDs: []int64{rt.ChatID}, Lang: rt.Lang})
	if err == nil {
		ctx, cancel := notifSendContext(r)
		defer cancel()
		err = tn.Notify(ctx, notifTest(ws.ID, s.now()))
	}
	s.notifSendResult(r, ws, "telegram", target, notifTelegramErr(err))
	redirect(w, r, ws.page("telegram"))
}

// notifTelegramErr gives a Bot API error its operator's message (cause and
// remedy, where tgbot knows them).
func notifTelegramErr(err error) error {
	var te *tgbot.Error
	if err == nil || !errors.As(err, &te) {
		return err
	}
	cause, remedy := te.Problem()
	if cause.IsZero() {
		return err
	}
	return &notifExplained{err: err, msg: chatter.T(cause.RU+" "+remedy.RU, cause.EN+" "+remedy.EN)}
}

// notifExplained is an error with its operator's message.
type notifExplained struct {
	err error
	msg chatter.Text
}

func (e *notifExplained) Error() string         { return e.err.Error() }
func (e *notifExplained) Unwrap() error         { return e.err }
func (e *notifExplained) Message() chatter.Text { return e.msg }
