package tgbot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Support guide problems the checks implement (CheckResult.Guide): the ids
// of chatter.GuideProblems.
const (
	GuideBotSilent     = chatter.GuideBotSilent // «Telegram бот не отвечает»
	GuideNotReachesCRM = chatter.GuideDelivery  // «Сообщения не доходят до CRM»
)

// Check names.
const (
	CheckToken    = "tgbot.token"
	CheckDelivery = "tgbot.delivery"
	checkChat     = "tgbot.chat:"
)

// CheckConfig configures the bot's diagnostics.
type CheckConfig struct {
	// Client is the bot's client. Required.
	Client *Client
	// Source, when set, gives the mode and the polling status.
	Source *Source
	// Mode is used when Source is nil. Defaults to ModePolling.
	Mode Mode
	// WebhookURL is the URL the webhook must point to (webhook mode); empty
	// accepts any.
	WebhookURL string
	// ChatIDs are the groups, channels and users the bot must reach.
	ChatIDs []int64
	// PendingWarn warns when more updates than this wait. Defaults to 100.
	PendingWarn int
	// StaleAfter fails the polling check when no getUpdates succeeded for so
	// long. Defaults to two poll timeouts plus a minute.
	StaleAfter time.Duration
	// RecentError is how recent a webhook delivery error must be to count.
	// Defaults to 15 minutes.
	RecentError time.Duration
	// Clock defaults to time.Now.
	Clock func() time.Time
}

// Checks returns the token check, the delivery check (webhook or polling)
// and one check per configured chat.
func Checks(cfg CheckConfig) []chatter.Check {
	out := []chatter.Check{TokenCheck(cfg.Client, cfg.Clock), DeliveryCheck(cfg)}
	for _, id := range cfg.ChatIDs {
		out = append(out, ChatCheck(cfg.Client, id, cfg.Clock))
	}
	return out
}

type checkRun struct {
	r     chatter.CheckResult
	start time.Time
	now   func() time.Time
}

func begin(name string, title chatter.Text, guide string, now func() time.Time) *checkRun {
	if now == nil {
		now = time.Now
	}
	t := now()
	return &checkRun{r: chatter.CheckResult{Name: name, Title: title, Status: chatter.StatusOK, Guide: guide,
		Details: map[string]string{}, At: t}, start: t, now: now}
}

func (c *checkRun) done() chatter.CheckResult {
	c.r.Duration = c.now().Sub(c.start)
	if len(c.r.Details) == 0 {
		c.r.Details = nil
	}
	return c.r
}

func (c *checkRun) set(st chatter.Status, cause, remedy chatter.Text) chatter.CheckResult {
	c.r.Status, c.r.Cause, c.r.Remedy = st, cause, remedy
	return c.done()
}

// fromError fills a failure from a client error.
func (c *checkRun) fromError(err error) chatter.CheckResult {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		c.r.Details["error_code"] = strconv.Itoa(apiErr.Code)
		c.r.Details["error"] = apiErr.Description
		if cause, remedy := apiErr.Problem(); !cause.IsZero() {
			return c.set(chatter.StatusFail, cause, remedy)
		}
		return c.set(chatter.StatusFail,
			chatter.T("Telegram вернул ошибку: "+apiErr.Description, "Telegram returned an error: "+apiErr.Description),
			chatter.T("Повторите проверку позже; если ошибка повторяется, проверьте настройки бота.", "Run the check again later; if the error persists, check the bot's settings."))
	}
	c.r.Details["error"] = err.Error()
	return c.set(chatter.StatusFail,
		chatter.T("Нет связи с серверами Telegram.", "Cannot reach Telegram's servers."),
		chatter.T("Проверьте подключение к интернету, прокси и доступность api.telegram.org с сервера.", "Check the internet connection, the proxy, and that api.telegram.org is reachable from the server."))
}

// TokenCheck verifies with getMe that the token is valid and the bot active.
// now may be nil.
func TokenCheck(c *Client, now func() time.Time) chatter.Check {
	return chatter.CheckFunc(CheckToken, func(ctx context.Context) chatter.CheckResult {
		r := begin(CheckToken, chatter.T("Токен бота действителен", "The bot token is valid"), GuideBotSilent, now)
		r.r.Details["bot_id"] = strconv.FormatInt(c.BotID(), 10)
		me, err := c.GetMe(ctx)
		if err != nil {
			return r.fromError(err)
		}
		r.r.Details["username"] = me.Username
		r.r.Details["privacy_mode"] = strconv.FormatBool(!me.CanReadAllGroupMessages)
		if !me.IsBot {
			return r.set(chatter.StatusFail, chatter.T("Токен принадлежит не боту.", "The token does not belong to a bot."),
				chatter.T("Используйте токен, выданный @BotFather.", "Use a token issued by @BotFather."))
		}
		return r.done()
	})
}

// DeliveryCheck verifies that updates reach the SDK: in webhook mode, that
// the webhook points to our URL and Telegram delivers to it without errors;
// in polling mode, that no webhook blocks getUpdates and the Source polls.
func DeliveryCheck(cfg CheckConfig) chatter.Check {
	mode := cmp.Or(cfg.Mode, ModePolling)
	if cfg.Source != nil {
		mode = cfg.Source.Mode()
	}
	pendingWarn := cmp.Or(cfg.PendingWarn, 100)
	recent := cmp.Or(cfg.RecentError, 15*time.Minute)
	stale := cfg.StaleAfter
	if stale == 0 {
		pt := DefaultPollTimeout
		if cfg.Source != nil {
			pt = cfg.Source.cfg.PollTimeout
		}
		stale = 2*pt + time.Minute
	}
	return chatter.CheckFunc(CheckDelivery, func(ctx context.Context) chatter.CheckResult {
		title := chatter.T("Обновления от Telegram доходят до бота", "Updates from Telegram reach the bot")
		r := begin(CheckDelivery, title, GuideNotReachesCRM, cfg.Clock)
		r.r.Details["mode"] = string(mode)
		info, err := cfg.Client.GetWebhookInfo(ctx)
		if err != nil {
			return r.fromError(err)
		}
		r.r.Details["pending_update_count"] = strconv.Itoa(info.PendingUpdateCount)
		if info.URL != "" {
			r.r.Details["webhook_url"] = redact(info.URL, cfg.Client.token)
		}
		now := r.now()
		if mode == ModeWebhook {
			switch {
			case info.URL == "":
				return r.set(chatter.StatusFail,
					chatter.T("Вебхук не установлен: Telegram не знает, куда отправлять сообщения.", "No webhook is set: Telegram does not know where to send messages."),
					chatter.T("Установите вебхук (setWebhook) на адрес сервера или переключитесь на режим опроса.", "Set the webhook (setWebhook) to the server's URL, or switch to polling mode."))
			case cfg.WebhookURL != "" && info.URL != cfg.WebhookURL:
				return r.set(chatter.StatusFail,
					chatter.T("Вебхук указывает на другой адрес: "+redact(info.URL, cfg.Client.token), "The webhook points to another URL: "+redact(info.URL, cfg.Client.token)),
					chatter.T("Установите вебхук заново на адрес "+redact(cfg.WebhookURL, cfg.Client.token)+" (перезапуск сервера делает это сам).", "Set the webhook again to "+redact(cfg.WebhookURL, cfg.Client.token)+" (restarting the server does it)."))
			}
			if info.LastErrorDate != 0 && now.Sub(time.Unix(info.LastErrorDate, 0)) < recent {
				r.r.Details["last_error_message"] = info.LastErrorMessage
				r.r.Details["last_error_date"] = time.Unix(info.LastErrorDate, 0).UTC().Format(time.RFC3339)
				return r.set(chatter.StatusFail, webhookErrorCause(info.LastErrorMessage), webhookErrorRemedy(info.LastErrorMessage))
			}
			if info.PendingUpdateCount > pendingWarn {
				return r.set(chatter.StatusWarn,
					chatter.T(fmt.Sprintf("В очереди Telegram %d недоставленных обновлений.", info.PendingUpdateCount), fmt.Sprintf("%d updates wait in Telegram's queue.", info.PendingUpdateCount)),
					chatter.T("Проверьте, что сервер отвечает на вебхук быстро и без ошибок.", "Check that the server answers the webhook quickly and without errors."))
			}
			return r.done()
		}
		if info.URL != "" {
			return r.set(chatter.StatusFail,
				chatter.T("Установлен вебхук, поэтому опрос (getUpdates) невозможен: Telegram отвечает 409 Conflict.", "A webhook is set, so polling (getUpdates) is impossible: Telegram answers 409 Conflict."),
				chatter.T("Удалите вебхук (deleteWebhook) или переключитесь на режим вебхука.", "Delete the webhook (deleteWebhook) or switch to webhook mode."))
		}
		if s := cfg.Source; s != nil {
			st := s.Status()
			if !st.LastPollAt.IsZero() {
				r.r.Details["last_poll_at"] = st.LastPollAt.UTC().Format(time.RFC3339)
			}
			if st.LastError != "" {
				r.r.Details["last_error"] = st.LastError
			}
			switch {
			case !st.Running:
				return r.set(chatter.StatusFail, chatter.T("Опрос Telegram не запущен.", "Polling is not running."),
					chatter.T("Запустите источник (перезапустите сервер) и проверьте журнал на ошибки запуска.", "Start the source (restart the server) and look for start-up errors in the log."))
			case st.LastPollAt.IsZero() && now.Sub(st.StartedAt) > stale, !st.LastPollAt.IsZero() && now.Sub(st.LastPollAt) > stale:
				return r.set(chatter.StatusFail,
					chatter.T("Опрос Telegram давно не проходит успешно.", "Polling has not succeeded for a long time."),
					chatter.T("Проверьте связь с api.telegram.org и журнал ошибок.", "Check the connection to api.telegram.org and the error log."))
			}
		}
		if info.PendingUpdateCount > pendingWarn {
			return r.set(chatter.StatusWarn,
				chatter.T(fmt.Sprintf("В очереди Telegram %d необработанных обновлений.", info.PendingUpdateCount), fmt.Sprintf("%d updates wait unprocessed in Telegram's queue.", info.PendingUpdateCount)),
				chatter.T("Проверьте журнал: обработчик сообщений, вероятно, завершается с ошибкой.", "Check the log: the message handler is probably failing."))
		}
		return r.done()
	})
}

func webhookErrorCause(msg string) chatter.Text {
	return chatter.T("Telegram не может доставить обновления на вебхук: "+msg, "Telegram cannot deliver updates to the webhook: "+msg)
}

func webhookErrorRemedy(msg string) chatter.Text {
	switch {
	case strings.Contains(msg, "401") || strings.Contains(msg, "403"):
		return chatter.T("Секретный токен вебхука не совпадает: установите вебхук заново с тем же secret_token, что в настройках.",
			"The webhook secret token does not match: set the webhook again with the secret_token from the settings.")
	case strings.Contains(msg, "Connection refused") || strings.Contains(msg, "timeout") || strings.Contains(msg, "resolve") || strings.Contains(msg, "connect"):
		return chatter.T("Сервер недоступен из интернета: проверьте, что он запущен, адрес и порт (443, 80, 88 или 8443), DNS и сертификат.",
			"The server is unreachable from the internet: check that it runs, the address and port (443, 80, 88 or 8443), DNS and the certificate.")
	case strings.Contains(msg, "SSL") || strings.Contains(msg, "certificate"):
		return chatter.T("Проблема с TLS-сертификатом: используйте действительный сертификат или загрузите самоподписанный в setWebhook.",
			"TLS certificate problem: use a valid certificate or upload the self-signed one with setWebhook.")
	}
	return chatter.T("Проверьте журнал сервера: обработчик вебхука отвечает ошибкой (например, хранилище недоступно).",
		"Check the server log: the webhook handler answers with an error (for example, the store is unavailable).")
}

// ChatCheck verifies that the bot is in the chat and can read it: an
// administrator, or privacy mode off (can_read_all_group_messages) in
// groups; an administrator in channels; not blocked in private chats. It
// fails with the new id when a group was upgraded to a supergroup.
func ChatCheck(c *Client, chatID int64, now func() time.Time) chatter.Check {
	name := checkChat + strconv.FormatInt(chatID, 10)
	return chatter.CheckFunc(name, func(ctx context.Context) chatter.CheckResult {
		r := begin(name, chatter.T(fmt.Sprintf("Бот состоит в чате %d и видит сообщения", chatID), fmt.Sprintf("The bot is in chat %d and sees its messages", chatID)), GuideBotSilent, now)
		r.r.Details["chat_id"] = strconv.FormatInt(chatID, 10)
		chat, err := c.GetChat(ctx, chatID)
		if err != nil {
			var apiErr *Error
			if errors.As(err, &apiErr) && apiErr.Migrated() {
				r.r.Details["migrate_to_chat_id"] = strconv.FormatInt(apiErr.MigrateToChatID, 10)
			}
			return r.fromError(err)
		}
		r.r.Details["chat_type"] = chat.Type
		if chat.Title != "" {
			r.r.Details["chat_title"] = chat.Title
		}
		member, err := c.GetChatMember(ctx, chatID, c.BotID())
		if err != nil {
			return r.fromError(err)
		}
		r.r.Details["status"] = member.Status
		if chat.Type == "private" {
			return r.done()
		}
		addAdmin := chatter.T("Добавьте бота в чат и назначьте администратором.", "Add the bot to the chat and make it an administrator.")
		switch {
		case member.Status == StatusKicked:
			return r.set(chatter.StatusFail, chatter.T("Бот удалён (заблокирован) в этом чате.", "The bot was removed (banned) from this chat."),
				chatter.T("Разблокируйте бота в настройках чата и добавьте его снова администратором.", "Unban the bot in the chat's settings and add it again as an administrator."))
		case !member.IsPresent():
			return r.set(chatter.StatusFail, chatter.T("Бот не добавлен в этот чат.", "The bot is not in this chat."), addAdmin)
		case member.Status == StatusRestricted && !member.CanSendMessages:
			return r.set(chatter.StatusWarn, chatter.T("Боту запрещено писать в этом чате.", "The bot may not write in this chat."),
				chatter.T("Снимите ограничения с бота или назначьте его администратором.", "Lift the bot's restrictions or make it an administrator."))
		}
		if chat.Type == "channel" {
			if !member.IsAdmin() {
				return r.set(chatter.StatusFail, chatter.T("Бот не администратор канала и не получает его публикации.", "The bot is not an administrator of the channel and does not get its posts."), addAdmin)
			}
			return r.done()
		}
		if member.IsAdmin() {
			return r.done()
		}
		me, err := c.GetMe(ctx)
		if err != nil {
			return r.fromError(err)
		}
		r.r.Details["privacy_mode"] = strconv.FormatBool(!me.CanReadAllGroupMessages)
		if me.CanReadAllGroupMessages {
			return r.done()
		}
		return r.set(chatter.StatusFail,
			chatter.T("Бот не администратор и у него включён режим приватности: он видит только команды, ответы ему и упоминания, а не все сообщения.",
				"The bot is not an administrator and privacy mode is on: it sees only commands, replies to it and mentions, not all messages."),
			chatter.T("Назначьте бота администратором чата или отключите режим приватности в @BotFather (/setprivacy → Disable), затем удалите бота из чата и добавьте снова.",
				"Make the bot an administrator of the chat, or disable privacy mode in @BotFather (/setprivacy → Disable), then remove the bot from the chat and add it again."))
	})
}
