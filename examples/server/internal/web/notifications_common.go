package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/smtpnotify"
	"github.com/chatterhq/sdk/chatter/webhooknotify"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// The Уведомления section (/notifications): a workspace's SMTP server,
// e-mail recipients per event type, Telegram chats and webhooks, each
// with a test send, and the sender domain's SPF and DKIM records. Every
// page is for administrators (the routes are adminOnly). Settings change
// only through app.UpdateWorkspace; its config.Problems are shown next to
// the fields they name. Secrets (the SMTP password, webhook URLs and
// signing secrets) are never put into a page: they are shown masked, and
// a field left empty keeps the stored value.

// notifTimeout bounds a test send and the DNS checks of the page.
const (
	notifTimeout    = 30 * time.Second
	notifDNSTimeout = 3 * time.Second
	// notifMaxRows bounds the rows of a posted list (Telegram chats, webhooks).
	notifMaxRows = 100
)

// Form sections: each is one form on the page, its fields named with the
// section's prefix, its anchor the section's id.
const (
	notifSecSMTP     = "smtp"
	notifSecEmail    = "email"
	notifSecTelegram = "tg"
	notifSecWebhooks = "wh"
)

// notifWS is the workspace the section's pages are about.
type notifWS struct {
	ID, Name string
	// Index is the workspace's place in the configuration: the N of
	// "workspaces[N]" in config.Problems' paths.
	Index int
	// Config is a copy whose notifications a handler may change.
	Config config.Workspace
	RT     *app.Runtime // nil when it is not running
}

// notifWorkspace loads workspace id (the first one when id is ""): 404
// when it is not configured, 403 when the user may not see it.
func (s *server) notifWorkspace(w http.ResponseWriter, r *http.Request, id string) (*notifWS, bool) {
	ids := s.app.WorkspaceIDs()
	if id == "" && len(ids) > 0 {
		id = ids[0]
	}
	i := slices.Index(ids, id)
	wc, ok := s.app.WorkspaceConfig(id)
	if i < 0 || !ok {
		s.errorPage(w, r, http.StatusNotFound, "notifications.error.no_workspace")
		return nil, false
	}
	if !canAccess(r, id) {
		s.errorPage(w, r, http.StatusForbidden, "error.forbidden")
		return nil, false
	}
	wc.Notifications = notifClone(wc.Notifications)
	rt, _ := s.app.Runtime(id)
	return &notifWS{ID: id, Name: cmpOr(wc.Name, id), Index: i, Config: wc, RT: rt}, true
}

// page is the workspace's page of the section, at anchor (may be "").
func (ws *notifWS) page(anchor string) string {
	p := "/notifications?" + url.Values{"ws": {ws.ID}}.Encode()
	if anchor != "" {
		p += "#" + anchor
	}
	return p
}

// notifClone copies the lists of n so that changing the copy never
// reaches the running workspace's configuration.
func notifClone(n config.Notifications) config.Notifications {
	n.Email = slices.Clone(n.Email)
	for i := range n.Email {
		n.Email[i].To = slices.Clone(n.Email[i].To)
		n.Email[i].Events = slices.Clone(n.Email[i].Events)
	}
	n.Telegram = slices.Clone(n.Telegram)
	for i := range n.Telegram {
		n.Telegram[i].Events = slices.Clone(n.Telegram[i].Events)
	}
	n.Webhooks = slices.Clone(n.Webhooks)
	for i := range n.Webhooks {
		n.Webhooks[i].Events = slices.Clone(n.Webhooks[i].Events)
	}
	return n
}

// notifTypes are the event types notifications route (the SDK's).
func notifTypes() []string {
	var out []string
	for _, t := range config.NotificationTypes() {
		out = append(out, string(t))
	}
	return out
}

// notifEvents returns the types a route with events sends: every type
// when the list is empty.
func notifEvents(events []string) []string {
	if len(events) == 0 {
		return notifTypes()
	}
	return events
}

// notifPickEvents reads the checkboxes name of f: nil (every event, also
// the types added later) when all are ticked; a problem when none is.
func (s *server) notifPickEvents(f *form, name string) []string {
	picked := f.Values[name]
	var out []string
	for _, t := range notifTypes() {
		if slices.Contains(picked, t) {
			out = append(out, t)
		}
	}
	switch len(out) {
	case 0:
		f.failKey(s.i18n, name, "notifications.need_events")
		return nil
	case len(notifTypes()):
		return nil
	}
	return out
}

// notifMask shows a secret by its last four characters ("•••• 1a2b"); a
// short one only as dots, "" when there is none.
func notifMask(secret string) string {
	n := utf8.RuneCountInString(secret)
	switch {
	case n == 0:
		return ""
	case n < 12:
		return "••••"
	}
	return "•••• " + string([]rune(secret)[n-4:])
}

// notifMaskURL shows a URL that is a secret (it often carries a token):
// its scheme and host, then the last four characters.
func notifMaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return notifMask(raw)
	}
	rest := strings.TrimPrefix(raw, u.Scheme+"://"+u.Host)
	if u.User != nil {
		rest = strings.TrimPrefix(raw, u.Scheme+"://"+u.User.String()+"@"+u.Host)
	}
	if utf8.RuneCountInString(rest) <= 4 {
		return u.Scheme + "://" + u.Host + "/…"
	}
	r := []rune(rest)
	return u.Scheme + "://" + u.Host + "/…" + string(r[len(r)-4:])
}

// notifAddresses splits a list of e-mail addresses written with commas,
// semicolons, spaces or one per line.
func notifAddresses(s string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	}) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// notifRows is the number of rows a list form posted (its hidden
// <prefix>_count), bounded.
func notifRows(f *form, prefix string) int {
	n, err := strconv.Atoi(f.Values.Get(prefix + "_count"))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, notifMaxRows)
}

// notifField is the name of row i's field of a list section: tg_2_chat.
func notifField(prefix string, i int, name string) string {
	return prefix + "_" + strconv.Itoa(i) + "_" + name
}

// notifPathRE splits a problem's path under a workspace's notifications:
// workspaces[0].notifications.telegram[1].chat_id.
var notifPathRE = regexp.MustCompile(`^workspaces\[(\d+)\]\.notifications\.(.*)$`)

// notifMapper maps the rest of a problem's path after "notifications."
// ("smtp.host", "telegram[1].chat_id") onto a form field, or "".
type notifMapper func(rest string) string

// notifIndexed splits "telegram[1].chat_id" into 1 and "chat_id" when it
// starts with list; ok is false otherwise.
func notifIndexed(rest, list string) (i int, field string, ok bool) {
	tail, found := strings.CutPrefix(rest, list+"[")
	if !found {
		return 0, "", false
	}
	num, after, found := strings.Cut(tail, "]")
	if !found {
		return 0, "", false
	}
	i, err := strconv.Atoi(num)
	if err != nil {
		return 0, "", false
	}
	return i, strings.TrimPrefix(after, "."), true
}

// notifSave stores ws.Config through UpdateWorkspace. When the settings are
// refused, the problems go next to their fields (through m) and the
// others are returned, and ok is false; err is any other failure.
func (s *server) notifSave(r *http.Request, ws *notifWS, f *form, m notifMapper) (other []chatter.Text, ok bool, err error) {
	err = s.app.UpdateWorkspace(r.Context(), ws.Config, currentUser(r).Login)
	var probs config.Problems
	if err == nil {
		return nil, true, nil
	}
	if !errors.As(err, &probs) {
		return nil, false, err
	}
	for _, p := range probs {
		if p.Severity != config.SeverityError {
			continue
		}
		if sm := notifPathRE.FindStringSubmatch(p.Path); sm != nil && sm[1] == strconv.Itoa(ws.Index) {
			if field := m(sm[2]); field != "" {
				f.fail(field, p.Message)
				continue
			}
			other = append(other, chatter.T(sm[2]+": "+p.Message.RU, sm[2]+": "+p.Message.EN))
			continue
		}
		other = append(other, chatter.T(p.Path+": "+p.Message.RU, p.Path+": "+p.Message.EN))
	}
	if f.ok() && len(other) == 0 {
		other = append(other, chatter.T(probs.Error(), probs.Error()))
	}
	return other, false, nil
}

// notifEvent writes an action of the section to the event log: who did
// it, from which address, on which workspace. attrs hold no secret.
func (s *server) notifEvent(r *http.Request, level slog.Level, ws, msg string, attrs ...slog.Attr) {
	base := []slog.Attr{slog.String(chatter.AttrCategory, chatter.CategoryNotify), slog.String(chatter.AttrWorkspace, ws),
		slog.String("by", currentUser(r).Login), slog.String("addr", s.clientAddr(r))}
	s.log.LogAttrs(context.WithoutCancel(r.Context()), level, msg, append(base, attrs...)...)
}

// notifSMTPNotifier is an SMTP notifier on the saved settings of n (the
// app builds the same one once e-mail recipients exist), for a test
// e-mail and the sender domain's checks; nil without SMTP settings.
func notifSMTPNotifier(n config.Notifications, log *slog.Logger) (*smtpnotify.Notifier, error) {
	sc := n.SMTP
	if sc.IsZero() || sc.Host == "" {
		return nil, nil
	}
	return smtpnotify.New(smtpnotify.Config{Host: sc.Host, Port: sc.Port, Security: smtpnotify.Security(sc.TLS),
		Username: sc.Username, Password: sc.Password, From: sc.From, English: sc.English, Logger: log})
}

// notifRecipients are every address of n's e-mail routes, in order.
func notifRecipients(n config.Notifications) []string {
	var out []string
	for _, r := range n.Email {
		for _, a := range r.To {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// notifTest is the notification a test send delivers.
func notifTest(ws string, now time.Time) *chatter.Notification {
	return &chatter.Notification{Type: "test", Workspace: ws, Time: now, Severity: chatter.SeverityInfo,
		Title: chatter.T("Проверка уведомлений Чаттера", "Chatter notification test"),
		Body: chatter.T("Это тестовое уведомление из раздела «Уведомления»: если вы его видите, этот канал настроен верно.",
			"This is a test notification from the Notifications page: if you can see it, this channel is set up correctly."),
		Fields: map[string]string{"workspace": ws}}
}

// notifSendResult reports a test send on the next page: ok, or the error in
// plain words (the service's own message where it has one).
func (s *server) notifSendResult(r *http.Request, ws *notifWS, channel, target string, err error) {
	if err == nil {
		s.notifEvent(r, slog.LevelInfo, ws.ID, "test notification sent", slog.String("channel", channel), slog.String("target", target))
		s.flash(r, "info", s.notifText("notifications.test.ok", target))
		return
	}
	s.notifEvent(r, slog.LevelWarn, ws.ID, "test notification failed", slog.String("channel", channel), slog.String("target", target),
		slog.String("err", err.Error()))
	s.flash(r, "error", chatter.T(s.i18n.T(auth.LangRU, "notifications.test.failed", target)+" "+notifExplain(err).RU,
		s.i18n.T(auth.LangEN, "notifications.test.failed", target)+" "+notifExplain(err).EN))
}

// notifExplain is an error of a test send in plain words.
func notifExplain(err error) chatter.Text {
	var se *smtpnotify.Error
	var de *webhooknotify.DeliveryError
	var msg interface{ Message() chatter.Text }
	switch {
	case errors.As(err, &se):
		return se.Message()
	case errors.As(err, &de):
		return de.Message()
	case errors.As(err, &msg):
		return msg.Message()
	case errors.Is(err, context.DeadlineExceeded):
		return chatter.T("Получатель не ответил за "+notifTimeout.String()+".", "The receiver did not answer within "+notifTimeout.String()+".")
	}
	return chatter.T("Ошибка: "+err.Error(), "Error: "+err.Error())
}

// notifText is a catalog message in both languages.
func (s *server) notifText(key string, args ...any) chatter.Text {
	return chatter.T(s.i18n.T(auth.LangRU, key, args...), s.i18n.T(auth.LangEN, key, args...))
}

// notifIndex reads the posted index of a list's row that exists in n
// (of length n).
func notifIndex(f *form, n int) (int, bool) {
	i, err := strconv.Atoi(f.Values.Get("index"))
	return i, err == nil && i >= 0 && i < n
}

func notifLabel(t string) chatter.Text { return chatter.NotificationType(t).Label() }

// notifSendContext bounds a test send.
func notifSendContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), notifTimeout)
}
