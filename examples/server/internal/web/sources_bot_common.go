package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/tgbot"
)

// bot returns the running bot id of the workspace, or nil (disabled, or
// the workspace is not running).
func (ws *sourceWS) bot(id string) *app.BotRuntime {
	if ws.RT == nil {
		return nil
	}
	for i := range ws.RT.Bots {
		if ws.RT.Bots[i].Config.ID == id {
			return &ws.RT.Bots[i]
		}
	}
	return nil
}

// botIndex is the bot's place in the workspace's configuration, or -1.
func (ws *sourceWS) botIndex(id string) int {
	return slices.IndexFunc(ws.Config.Bots, func(b config.Bot) bool { return b.ID == id })
}

// botPath is the page of a bot.
func (ws *sourceWS) BotURL(id string) string { return ws.Base() + "/bots/" + url.PathEscape(id) }

// srcTokenBotID is the bot id a token starts with (0 when malformed).
func srcTokenBotID(token string) int64 {
	id, _, ok := strings.Cut(token, ":")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// srcBotClient is a client for a token not (yet) running: a new one, or a
// disabled bot's.
func srcBotClient(token, apiURL string) (*tgbot.Client, error) {
	var opts []tgbot.Option
	if apiURL != "" {
		opts = append(opts, tgbot.WithBaseURL(apiURL))
	}
	return tgbot.NewClient(token, opts...)
}

// botClient is the running bot's client, or one made from its settings.
func (ws *sourceWS) botClient(b config.Bot) (*tgbot.Client, error) {
	if br := ws.bot(b.ID); br != nil {
		return br.Client, nil
	}
	return srcBotClient(b.Token, b.APIURL)
}

// srcBotProblem explains an error of the Bot API in plain words.
func srcBotProblem(err error) srcCheck {
	var ae *tgbot.Error
	if errors.As(err, &ae) {
		if cause, remedy := ae.Problem(); !cause.IsZero() {
			return srcCheck{Kind: "error", Cause: cause, Remedy: remedy}
		}
		return srcCheck{Kind: "error", Cause: chatter.T("Telegram ответил ошибкой: "+ae.Description, "Telegram answered with an error: "+ae.Description),
			Remedy: chatter.T("Проверьте настройки бота и повторите.", "Check the bot's settings and try again.")}
	}
	var rl *tgbot.RateLimitError
	if errors.As(err, &rl) {
		return srcCheck{Kind: "warn", Cause: chatter.T("Telegram ограничил частоту запросов бота.", "Telegram is rate-limiting the bot."),
			Remedy: chatter.T("Подождите "+rl.RetryAfter().String()+" и повторите.", "Wait "+rl.RetryAfter().String()+" and try again.")}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return srcCheck{Kind: "error", Cause: chatter.T("Telegram не ответил вовремя.", "Telegram did not answer in time."),
			Remedy: chatter.T("Проверьте связь сервера с api.telegram.org (или с адресом Bot API в настройках бота).", "Check that the server reaches api.telegram.org (or the bot's Bot API address).")}
	}
	return srcCheck{Kind: "error", Cause: chatter.T("Нет связи с Telegram: "+err.Error(), "Cannot reach Telegram: "+err.Error()),
		Remedy: chatter.T("Проверьте связь сервера с api.telegram.org (или с адресом Bot API в настройках бота) и прокси.", "Check that the server reaches api.telegram.org (or the bot's Bot API address) and the proxy.")}
}

// srcBotInfo is a bot's settings and state as its page shows them (never its
// token: only the masked form).
type srcBotInfo struct {
	ID, Mode, APIURL string
	TokenMask        string
	BotID            int64
	Disabled         bool
	Running          bool
	Component        badge
	ComponentErr     string
	Restarts         int
	Status           *tgbot.SourceStatus
	// WebhookURL is where Telegram must post this bot's updates ("" in
	// polling mode or without http.public_url).
	WebhookURL string
}

// srcBotChatView is a chat the bot is in, with its rights.
type srcBotChatView struct {
	ID         int64
	Title      string
	Username   string
	Type       string
	Status     string
	Kind       string // badge kind of Status
	Rights     []string
	MigratedTo int64
	UpdatedAt  time.Time
}

// srcBotPage is the page of one bot.
type srcBotPage struct {
	sourceFormPage
	Bot srcBotInfo
	// Me is getMe's answer (MeErr when it failed).
	Me    *tgbot.User
	MeErr *srcCheck
	// Info is getWebhookInfo's answer (InfoErr when it failed); InfoURL the
	// webhook URL without the token, LastErrorAt Telegram's last delivery
	// error's date.
	Info        *tgbot.WebhookInfo
	InfoURL     string
	InfoErr     *srcCheck
	LastErrorAt time.Time
	// Delivery is the tgbot delivery check: do updates reach the bot.
	Delivery *srcCheck
	// WebhookLeft: polling mode while a webhook is set (getUpdates gets
	// 409): the page offers to delete it.
	WebhookLeft bool
	Chats       []srcBotChatView
	// Result is the outcome of the action just taken (token test, chat
	// check).
	Result *srcCheck
	// OtherBot is set when a replacement token belongs to another bot: the
	// form asks to confirm.
	OtherBot *tgbot.User
	// OldUsername is the current bot's username, for that warning.
	OldUsername string
	PublicURL   bool
}

// renderSourceBot renders the page of bot id (re-read: it shows the state after
// an action) with a form's problems and an action's result.
func (s *server) renderSourceBot(w http.ResponseWriter, r *http.Request, status int, ws *sourceWS, id string, f *form, other []chatter.Text, page *srcBotPage) {
	i := ws.botIndex(id)
	if i < 0 {
		s.errorPage(w, r, http.StatusNotFound, "sources.error.no_bot")
		return
	}
	// Re-read after a change: the bot may have been rebuilt.
	if fresh, ok := s.app.WorkspaceConfig(ws.ID); ok {
		ws.Config = srcCloneWorkspace(fresh)
		ws.RT, _ = s.app.Runtime(ws.ID)
		if i = ws.botIndex(id); i < 0 {
			s.errorPage(w, r, http.StatusNotFound, "sources.error.no_bot")
			return
		}
	}
	b := ws.Config.Bots[i]
	v := s.newView(r)
	v.Path = ws.BotURL(id)
	if f != nil {
		f.dropSecrets("token")
		v.Form = f
	}
	if !v.Form.Values.Has("mode") {
		v.Form.Values.Set("mode", b.Mode)
	}
	if page == nil {
		page = &srcBotPage{}
	}
	page.WS, page.Problems = ws, other
	page.PublicURL = s.app.Config().HTTP.PublicURL != ""
	info := srcBotInfo{ID: b.ID, Mode: b.Mode, APIURL: b.APIURL, TokenMask: srcMask(b.Token), BotID: srcTokenBotID(b.Token), Disabled: b.Disabled}
	br := ws.bot(b.ID)
	if br != nil {
		info.Running, info.WebhookURL = true, br.WebhookURL
		c := s.srcComponent(br.Component)
		info.Component = srcComponentBadge(v, c)
		if c != nil {
			info.ComponentErr, info.Restarts = c.LastError, c.Restarts
		}
		st := br.Source.Status()
		info.Status = &st
	} else {
		info.Component = badge{"warn", v.T("sources.bot.disabled")}
	}
	page.Bot = info
	if client, err := ws.botClient(b); err != nil {
		page.MeErr = &srcCheck{Kind: "error", Cause: s.srcText("sources.bot.token_malformed")}
	} else {
		s.srcBotRemote(r, ws, b, br, client, page)
	}
	if br != nil {
		for _, c := range br.Source.Registry().List() {
			page.Chats = append(page.Chats, srcBotChat(c))
		}
	}
	v.Data = page
	s.render(w, r, status, "sources_bot", v)
}

// srcBotRemote asks Telegram about the bot (getMe, getWebhookInfo and the
// delivery check), at once, each bounded by srcRemoteTimeout.
func (s *server) srcBotRemote(r *http.Request, ws *sourceWS, b config.Bot, br *app.BotRuntime, client *tgbot.Client, page *srcBotPage) {
	ctx, cancel := srcRemote(r)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		me, err := client.GetMe(ctx)
		if err != nil {
			p := srcBotProblem(err)
			page.MeErr = &p
			return
		}
		page.Me = me
	})
	wg.Go(func() {
		info, err := client.GetWebhookInfo(ctx)
		if err != nil {
			p := srcBotProblem(err)
			page.InfoErr = &p
			return
		}
		page.Info = info
		page.InfoURL = strings.ReplaceAll(info.URL, b.Token, "•••")
		if info.LastErrorDate != 0 {
			page.LastErrorAt = time.Unix(info.LastErrorDate, 0)
		}
		page.WebhookLeft = b.Mode == config.ModePolling && info.URL != ""
	})
	wg.Go(func() {
		cc := tgbot.CheckConfig{Client: client, Clock: s.now, Mode: tgbot.ModePolling}
		if b.Mode == config.ModeWebhook {
			cc.Mode = tgbot.ModeWebhook
		}
		if br != nil {
			cc.Source, cc.WebhookURL = br.Source, br.WebhookURL
		}
		res := srcCheckOf(tgbot.DeliveryCheck(cc).Run(ctx))
		page.Delivery = &res
	})
	wg.Wait()
}

// srcBotChat describes a chat of the registry.
func srcBotChat(c tgbot.ChatState) srcBotChatView {
	m := c.Member
	out := srcBotChatView{ID: c.Chat.ID, Title: c.Chat.Title, Username: c.Chat.Username, Type: c.Chat.Type,
		Status: cmpOr(m.Status, "seen"), MigratedTo: c.MigratedTo, UpdatedAt: c.UpdatedAt}
	switch {
	case c.MigratedTo != 0:
		out.Kind = "warn"
	case m.IsAdmin():
		out.Kind = "ok"
	case m.Status == "" || m.Status == tgbot.StatusMember:
		out.Kind = "info"
	case m.Status == tgbot.StatusRestricted:
		out.Kind = "warn"
	default:
		out.Kind = "error"
	}
	for _, r := range []struct {
		on  bool
		key string
	}{
		{m.CanManageChat, "manage"}, {m.CanDeleteMessages, "delete"}, {m.CanRestrictMembers, "restrict"},
		{m.CanPromoteMembers, "promote"}, {m.CanChangeInfo, "info"}, {m.CanInviteUsers, "invite"},
		{m.CanPostMessages, "post"}, {m.CanEditMessages, "edit"}, {m.CanPinMessages, "pin"},
		{m.Status == tgbot.StatusRestricted && m.CanSendMessages, "send"},
	} {
		if r.on {
			out.Rights = append(out.Rights, r.key)
		}
	}
	return out
}

// srcCheckToken validates a token the way Telegram does before it is
// saved: its form, then getMe. It records the problem on f's field and
// returns the bot, or nil.
func (s *server) srcCheckToken(r *http.Request, f *form, field, token, apiURL string) *tgbot.User {
	if token == "" {
		f.failKey(s.i18n, field, "sources.bot.need_token")
		return nil
	}
	client, err := srcBotClient(token, apiURL)
	if err != nil {
		f.failKey(s.i18n, field, "sources.bot.token_malformed")
		return nil
	}
	ctx, cancel := srcRemote(r)
	defer cancel()
	me, err := client.GetMe(ctx)
	if err != nil {
		p := srcBotProblem(err)
		f.fail(field, chatter.T(p.Cause.RU+" "+p.Remedy.RU, p.Cause.EN+" "+p.Remedy.EN))
		return nil
	}
	if !me.IsBot {
		f.failKey(s.i18n, field, "sources.bot.not_a_bot")
		return nil
	}
	return me
}
