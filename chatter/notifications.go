package chatter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The constructors below build the standard notifications with Russian and
// English texts. They leave Notification.Time zero: the sender sets it from
// its clock (the Pipeline does). They never put secrets in a notification.

// maxSnippetRunes bounds the message text quoted in a NewLeadNotification.
const maxSnippetRunes = 300

// Label returns the operator-facing name of the type, for digests and UIs.
func (t NotificationType) Label() Text {
	switch t {
	case NotifyNewLead:
		return T("новая заявка", "new lead")
	case NotifyDeliveryFailed:
		return T("доставка не удалась", "delivery failed")
	case NotifySourceDown:
		return T("источник недоступен", "source down")
	case NotifySourceUp:
		return T("источник снова работает", "source up")
	case NotifyTokenExpiring:
		return T("срок действия токена истекает", "token expiring")
	case NotifyTokenExpired:
		return T("токен истёк", "token expired")
	case NotifyRateLimited:
		return T("превышен лимит запросов", "rate limited")
	case NotifyAccountBlocked:
		return T("аккаунт заблокирован", "account blocked")
	case NotifyAuthFailed:
		return T("ошибка авторизации в CRM", "CRM authorization failed")
	case NotifyRightsMissing:
		return T("недостаточно прав в CRM", "insufficient rights in the CRM")
	case NotifyDigest:
		return T("сводка", "digest")
	}
	return T(string(t), string(t))
}

// NewLeadNotification announces a message delivered as a new lead. The link
// is r.Extra["lead_url"] when the sink provides it, else the message's link.
func NewLeadNotification(m *Message, r *DeliveryResult) *Notification {
	if r == nil {
		r = &DeliveryResult{}
	}
	who := m.Sender.Name()
	if who == "" {
		who = "?"
	}
	where := m.Chat.Title
	if where == "" {
		where = strconv.FormatInt(m.Key.ChatID, 10)
	}
	lead := ""
	if r.LeadID != 0 {
		lead = " #" + strconv.FormatInt(r.LeadID, 10)
	}
	snippet := cutRunes(m.Text, maxSnippetRunes)
	ru := fmt.Sprintf("Сделка%s создана по сообщению от %s в чате «%s».", lead, who, where)
	en := fmt.Sprintf("Lead%s created from a message by %s in chat %q.", lead, who, where)
	if r.Adopted {
		ru += " Сделка была создана прошлой попыткой и найдена повторно."
		en += " The lead was created by an earlier attempt and found again."
	}
	if snippet != "" {
		ru += "\n\n" + snippet
		en += "\n\n" + snippet
	}
	fields := map[string]string{"source": string(m.Key.Source), "chat_id": strconv.FormatInt(m.Key.ChatID, 10)}
	setID(fields, "lead_id", r.LeadID)
	setID(fields, "contact_id", r.ContactID)
	setID(fields, "company_id", r.CompanyID)
	link := m.Link
	if u := r.Extra["lead_url"]; u != "" {
		link = u
	}
	return &Notification{
		Type:      NotifyNewLead,
		Workspace: m.Workspace,
		Severity:  SeverityInfo,
		Title:     T("Новая заявка из Telegram"+lead, "New lead from Telegram"+lead),
		Body:      T(ru, en),
		Link:      link,
		Key:       m.Key.String(),
		Fields:    fields,
	}
}

// DeliveryFailedNotification says that m went dead after attempts attempts,
// with the last error's class and text, and what to do about the class.
func DeliveryFailedNotification(m *Message, attempts int, class ErrorClass, lastErr string) *Notification {
	remedy := classRemedy(class)
	ru := fmt.Sprintf("Сообщение %s не доставлено в CRM после попыток: %d. Причина: %s.", m.Key, attempts, classCause(class).RU)
	en := fmt.Sprintf("Message %s was not delivered to the CRM after %d attempt(s). Cause: %s.", m.Key, attempts, classCause(class).EN)
	if !remedy.IsZero() {
		ru += " " + remedy.RU
		en += " " + remedy.EN
	}
	ru += " После исправления повторите отправку в журнале сообщений."
	en += " After fixing it, replay the message from the message log."
	fields := map[string]string{"attempts": strconv.Itoa(attempts), "error_class": string(class)}
	if lastErr != "" {
		fields["error"] = cutRunes(lastErr, 500)
	}
	return &Notification{
		Type:      NotifyDeliveryFailed,
		Workspace: m.Workspace,
		Severity:  SeverityError,
		Title:     T("Сообщение не доставлено в CRM", "Message not delivered to the CRM"),
		Body:      T(ru, en),
		Link:      m.Link,
		Key:       m.Key.String(),
		Fields:    fields,
	}
}

// TokenExpiringNotification warns that the CRM token of account expires at
// expiresAt.
func TokenExpiringNotification(workspace, account string, expiresAt time.Time) *Notification {
	at := expiresAt.UTC().Format("2006-01-02 15:04 MST")
	return &Notification{
		Type:      NotifyTokenExpiring,
		Workspace: workspace,
		Severity:  SeverityWarning,
		Title:     T("Скоро истечёт токен amoCRM", "amoCRM token expires soon"),
		Body: T(
			fmt.Sprintf("Токен доступа к аккаунту %s действует до %s. Обновите ключи интеграции в amoCRM и в настройках Чаттера, иначе сделки перестанут создаваться.", account, at),
			fmt.Sprintf("The access token of account %s is valid until %s. Renew the integration keys in amoCRM and in Chatter's settings, or leads will stop being created.", account, at)),
		Fields: map[string]string{"account": account, "expires_at": expiresAt.UTC().Format(time.RFC3339)},
	}
}

// TokenExpiredNotification says that the CRM token of account no longer
// works (expired or revoked).
func TokenExpiredNotification(workspace, account string) *Notification {
	return &Notification{
		Type:      NotifyTokenExpired,
		Workspace: workspace,
		Severity:  SeverityError,
		Title:     T("Токен amoCRM недействителен", "amoCRM token is no longer valid"),
		Body: T(
			fmt.Sprintf("amoCRM отклоняет токен аккаунта %s. Переподключите интеграцию: сгенерируйте новые ключи в amoCRM и обновите их в настройках Чаттера. Сообщения ждут в очереди.", account),
			fmt.Sprintf("amoCRM rejects the token of account %s. Reconnect the integration: generate new keys in amoCRM and update them in Chatter's settings. Messages are waiting in the queue.", account)),
		Fields: map[string]string{"account": account},
	}
}

// SourceDownNotification says that a source (a bot or a parsing account)
// stopped working; cause is shown as it is, so it must hold no secrets.
func SourceDownNotification(workspace, source string, cause Text) *Notification {
	ru := fmt.Sprintf("Источник %s не работает.", source)
	en := fmt.Sprintf("Source %s is down.", source)
	if !cause.IsZero() {
		ru += " Причина: " + cause.In("ru")
		en += " Cause: " + cause.In("en")
	}
	return &Notification{
		Type:      NotifySourceDown,
		Workspace: workspace,
		Severity:  SeverityError,
		Title:     T("Источник сообщений не работает", "Message source is down"),
		Body:      T(ru, en),
		Fields:    map[string]string{"source": source},
	}
}

// SourceUpNotification says that a source works again.
func SourceUpNotification(workspace, source string) *Notification {
	return &Notification{
		Type:      NotifySourceUp,
		Workspace: workspace,
		Severity:  SeverityInfo,
		Title:     T("Источник сообщений снова работает", "Message source is up again"),
		Body:      T(fmt.Sprintf("Источник %s снова получает сообщения.", source), fmt.Sprintf("Source %s receives messages again.", source)),
		Fields:    map[string]string{"source": source},
	}
}

// RateLimitedNotification says that the destination slowed down requests
// for what (an account or a "source:account" pair) and asked to wait.
func RateLimitedNotification(workspace, what string, wait time.Duration) *Notification {
	fields := map[string]string{"target": what}
	ru := fmt.Sprintf("Превышен лимит запросов (%s).", what)
	en := fmt.Sprintf("Request limit exceeded (%s).", what)
	if wait > 0 {
		fields["retry_after"] = wait.String()
		ru += fmt.Sprintf(" Повтор через %s.", durationText(wait).RU)
		en += fmt.Sprintf(" Retrying in %s.", durationText(wait).EN)
	}
	ru += " Сообщения не теряются и ждут в очереди. Если это повторяется, уменьшите частоту запросов или используйте пакетную обработку."
	en += " Messages are not lost and wait in the queue. If it keeps happening, lower the request rate or use batching."
	return &Notification{
		Type:      NotifyRateLimited,
		Workspace: workspace,
		Severity:  SeverityWarning,
		Title:     T("Превышен лимит запросов", "Rate limited"),
		Body:      T(ru, en),
		Fields:    fields,
	}
}

// AccountBlockedNotification says that account was blocked by the
// destination (amoCRM or Telegram); detail is the error text, without secrets.
// An empty account means the CRM account the deliveries go to.
func AccountBlockedNotification(workspace, account, detail string) *Notification {
	fields := map[string]string{}
	whoRU, whoEN := "Аккаунт CRM", "The CRM account"
	if account != "" {
		fields["account"] = account
		whoRU, whoEN = "Аккаунт "+account, "Account "+account
	}
	if detail != "" {
		fields["error"] = cutRunes(detail, 500)
	}
	return &Notification{
		Type:      NotifyAccountBlocked,
		Workspace: workspace,
		Severity:  SeverityError,
		Title:     T("Аккаунт заблокирован", "Account blocked"),
		Body: T(
			whoRU+" заблокирован. Уменьшите нагрузку (интервалы между запросами, число чатов), используйте прокси; при необходимости подключите другой аккаунт. Сообщения ждут в очереди.",
			whoEN+" is blocked. Lower the load (request intervals, number of chats), use proxies; connect another account if needed. Messages wait in the queue."),
		Fields: fields,
	}
}

// AuthFailedNotification says that the CRM rejects Chatter's credentials
// (token expired, revoked or wrong) and that deliveries wait until they are
// renewed; detail is the error text, without secrets.
func AuthFailedNotification(workspace, detail string) *Notification {
	fields := map[string]string{"error_class": string(ClassAuth)}
	if detail != "" {
		fields["error"] = cutRunes(detail, 500)
	}
	return &Notification{
		Type:      NotifyAuthFailed,
		Workspace: workspace,
		Severity:  SeverityError,
		Title:     T("CRM не принимает ключи доступа", "The CRM rejects the access keys"),
		Body: T(
			"CRM отклоняет авторизацию Чаттера: токен истёк, отозван или неверен. Переподключите интеграцию (обновите ключи в CRM и в настройках Чаттера). Сообщения не теряются: они ждут в очереди и будут доставлены после исправления.",
			"The CRM rejects Chatter's authorization: the token expired, was revoked or is wrong. Reconnect the integration (renew the keys in the CRM and in Chatter's settings). No message is lost: they wait in the queue and are delivered once it is fixed."),
		Fields: fields,
	}
}

// RightsMissingNotification says that the CRM refuses an action because the
// integration's user lacks a right, and that deliveries wait until it is
// granted; detail is the error text, without secrets.
func RightsMissingNotification(workspace, detail string) *Notification {
	fields := map[string]string{"error_class": string(ClassRights)}
	if detail != "" {
		fields["error"] = cutRunes(detail, 500)
	}
	return &Notification{
		Type:      NotifyRightsMissing,
		Workspace: workspace,
		Severity:  SeverityError,
		Title:     T("Недостаточно прав в CRM", "Insufficient rights in the CRM"),
		Body: T(
			"CRM отказывает пользователю интеграции в нужном действии. "+classRemedy(ClassRights).RU+" Сообщения не теряются: они ждут в очереди и будут доставлены после исправления.",
			"The CRM refuses an action to the integration's user. "+classRemedy(ClassRights).EN+" No message is lost: they wait in the queue and are delivered once it is fixed."),
		Fields: fields,
	}
}

// classCause describes an error class for people.
func classCause(c ErrorClass) Text {
	switch c {
	case ClassAuth:
		return T("ошибка авторизации в CRM", "CRM authorization failed")
	case ClassRights:
		return T("недостаточно прав в CRM", "insufficient rights in the CRM")
	case ClassMapping:
		return T("ошибка в настройках полей", "field mapping error")
	case ClassRateLimited:
		return T("превышен лимит запросов", "rate limited")
	case ClassBlocked:
		return T("аккаунт заблокирован", "account blocked")
	case ClassPayment:
		return T("аккаунт CRM не оплачен", "the CRM account is not paid")
	case ClassTransient:
		return T("временная ошибка связи с CRM", "temporary error reaching the CRM")
	case ClassPermanent:
		return T("CRM отклонила сообщение", "the CRM rejected the message")
	case ClassInternal:
		return T("внутренняя ошибка Чаттера", "internal Chatter error")
	case ClassInvalid:
		return T("сообщение некорректно и не принято", "the message is invalid and was refused")
	}
	return T("неизвестная ошибка", "unknown error")
}

// classRemedy says what to do about an error class.
func classRemedy(c ErrorClass) Text {
	switch c {
	case ClassAuth:
		return T("Переподключите amoCRM: обновите ключи интеграции.", "Reconnect amoCRM: renew the integration keys.")
	case ClassRights:
		return T("Проверьте, что у пользователя интеграции есть права на создание сделок и доступ к контактам.", "Check that the integration's user may create leads and access contacts.")
	case ClassMapping:
		return T("Проверьте, что поля существуют в CRM, их типы и обязательные поля в настройках полей.", "Check that the fields exist in the CRM, their types, and the required fields in the field mapping.")
	case ClassPayment:
		return T("Оплатите аккаунт amoCRM.", "Pay for the amoCRM account.")
	case ClassBlocked:
		return T("Уменьшите частоту запросов и дождитесь разблокировки.", "Lower the request rate and wait for the block to end.")
	case ClassTransient:
		return T("Проверьте подключение к CRM.", "Check the connection to the CRM.")
	case ClassInternal:
		return T("Сообщите в техподдержку.", "Contact support.")
	case ClassInvalid:
		return T("Посмотрите причину и исходные данные в журнале сообщений; если источник шлёт такие сообщения часто, сообщите в техподдержку.",
			"See the reason and the raw input in the message log; if the source sends such messages often, contact support.")
	}
	return Text{}
}

func setID(fields map[string]string, key string, id int64) {
	if id != 0 {
		fields[key] = strconv.FormatInt(id, 10)
	}
}

// cutRunes returns s cut to n runes, with "…" when cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n {
			break
		}
		count++
	}
	return strings.TrimSpace(s[:i]) + "…"
}

// pluralRU picks the Russian form for n: one (1, 21), few (2-4, 22-24),
// many (0, 5-20, 25-30).
func pluralRU(n int, one, few, many string) string {
	n %= 100
	if n < 0 {
		n = -n
	}
	switch {
	case n%10 == 1 && n != 11:
		return one
	case n%10 >= 2 && n%10 <= 4 && (n < 12 || n > 14):
		return few
	}
	return many
}

// pluralEN picks the English form for n.
func pluralEN(n int, one, other string) string {
	if n == 1 {
		return one
	}
	return other
}

// durationText renders d for people in whole hours, minutes or seconds
// (Russian in the accusative case, as after «за» or «через»).
func durationText(d time.Duration) Text {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		n := int(d / time.Hour)
		return T(fmt.Sprintf("%d %s", n, pluralRU(n, "час", "часа", "часов")), fmt.Sprintf("%d %s", n, pluralEN(n, "hour", "hours")))
	case d >= time.Minute && d%time.Minute == 0:
		n := int(d / time.Minute)
		return T(fmt.Sprintf("%d %s", n, pluralRU(n, "минуту", "минуты", "минут")), fmt.Sprintf("%d %s", n, pluralEN(n, "minute", "minutes")))
	}
	n := int((d + time.Second - 1) / time.Second)
	return T(fmt.Sprintf("%d %s", n, pluralRU(n, "секунду", "секунды", "секунд")), fmt.Sprintf("%d %s", n, pluralEN(n, "second", "seconds")))
}
