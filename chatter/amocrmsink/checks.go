package amocrmsink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/fieldmap"
)

// Check names, as CheckResult.Name.
const (
	CheckToken     = "amocrm.token"
	CheckRights    = "amocrm.rights"
	CheckWebhooks  = "amocrm.webhooks"
	CheckFields    = "amocrm.fields"
	CheckRateLimit = "amocrm.rate_limit"
	CheckBlocked   = "amocrm.blocked"
	// CheckTokenSaved fails while an OAuth pair amoCRM issued is in use but
	// not stored (amocrm.Client.TokenSaveErr).
	CheckTokenSaved = "amocrm.token_saved"
	// CheckRateBudget reports the shared request budget (BudgetLimiter):
	// skipped when none reports to Config.Stats, failed after recent store
	// failures.
	CheckRateBudget = "amocrm.rate_budget"
)

// Sections of the support guide the checks implement (CheckResult.Guide).
const (
	GuideAuth     = chatter.GuideAmoCRMAuth // «Ошибка авторизации через amoCRM»
	GuideDelivery = chatter.GuideDelivery   // «Сообщения не доходят до CRM»
	GuideFields   = chatter.GuideFields     // «Сделки создаются с неправильными полями»
	GuideRate     = chatter.GuideRateLimit  // «Ошибка 429 Too Many Requests»
)

// Checks returns the sink's diagnostics: the token is valid and not about to
// expire; every OAuth pair amoCRM issued is saved in the token store; the
// integration's user may add leads and contacts (and is an administrator
// where webhooks need it); the webhook points at WebhookURL; the mapped
// fields, the marker field and the Telegram fields exist with the right
// types; no recent 429s; the shared request budget works; the account is
// not blocked. Each check makes at most a few reads (the token-saved check
// also retries a pending save), is safe for concurrent use and never
// reports secrets.
func (s *Sink) Checks() []chatter.Check {
	return []chatter.Check{
		chatter.CheckFunc(CheckToken, s.checkToken),
		chatter.CheckFunc(CheckTokenSaved, s.checkTokenSaved),
		chatter.CheckFunc(CheckRights, s.checkRights),
		chatter.CheckFunc(CheckWebhooks, s.checkWebhooks),
		chatter.CheckFunc(CheckFields, s.checkFields),
		chatter.CheckFunc(CheckRateLimit, s.checkRateLimit),
		chatter.CheckFunc(CheckRateBudget, s.checkRateBudget),
		chatter.CheckFunc(CheckBlocked, s.checkBlocked),
	}
}

var (
	remedyReauth = chatter.T(
		"Переподключите интеграцию в настройках amoCRM (повторная авторизация) или выпустите новый долгосрочный токен и обновите его в настройках Чаттера.",
		"Reconnect the integration in amoCRM settings (re-authorise) or issue a new long-lived token and update it in Chatter's settings.")
	remedyBlocked = chatter.T(
		"Запросы к аккаунту приостановлены. Если блокировка не снимается сама, напишите в поддержку amoCRM: IP сервера, поддомен и ID аккаунта. Уменьшите частоту запросов (пакетная обработка, очередь).",
		"Requests to the account are paused. If the block does not lift by itself, contact amoCRM support with the server IP, the subdomain and the account id. Lower the request rate (batching, the queue).")
)

// failFromErr turns an error of a live read into a failed result.
func failFromErr(r chatter.CheckResult, what chatter.Text, err error) chatter.CheckResult {
	r.Status = chatter.StatusFail
	var (
		ua *amocrm.UnauthorizedError
		be *amocrm.BlockedError
		pe *amocrm.PaymentRequiredError
	)
	switch {
	case errors.As(err, &ua):
		r.Cause = chatter.T("amoCRM отклонил токен: "+ua.Message("ru"), "amoCRM rejected the token: "+ua.Message("en"))
		r.Remedy = remedyReauth
		r.Guide = GuideAuth
	case errors.As(err, &be):
		r.Cause = chatter.T(be.Message("ru"), be.Message("en"))
		r.Remedy = remedyBlocked
		r.Guide = GuideRate
	case errors.As(err, &pe):
		r.Cause = chatter.T(pe.Message("ru"), pe.Message("en"))
		r.Remedy = chatter.T("Проверьте тариф и оплату аккаунта amoCRM.", "Check the amoCRM plan and billing.")
	default:
		r.Cause = chatter.T(what.RU+": "+err.Error(), what.EN+": "+err.Error())
		r.Remedy = chatter.T("Проверьте адрес аккаунта amoCRM и сетевое подключение, затем повторите проверку.",
			"Check the amoCRM account address and the network connection, then run the check again.")
	}
	return r
}

func (s *Sink) checkToken(ctx context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Токен amoCRM действителен", "amoCRM token is valid"), Status: chatter.StatusOK, Guide: GuideAuth}
	acc, _, err := s.cfg.Client.Account.Get(ctx, nil)
	if err != nil {
		return failFromErr(r, chatter.T("не удалось прочитать аккаунт", "could not read the account"), err)
	}
	r.Details = map[string]string{"account_id": strconv.Itoa(acc.ID), "subdomain": acc.Subdomain}
	if s.cfg.TokenExpiry == nil {
		return r
	}
	exp, err := s.cfg.TokenExpiry(ctx)
	if err != nil {
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T("не удалось узнать срок действия токена: "+err.Error(), "could not read the token's expiry: "+err.Error())
		r.Remedy = chatter.T("Проверьте хранилище токенов.", "Check the token store.")
		return r
	}
	if exp.IsZero() {
		return r
	}
	now := s.cfg.Now()
	r.Details["expires_at"] = exp.UTC().Format(time.RFC3339)
	switch left := exp.Sub(now); {
	case left <= 0:
		r.Status = chatter.StatusFail
		r.Cause = chatter.T("срок действия токена amoCRM истёк "+exp.UTC().Format("02.01.2006 15:04 UTC"),
			"the amoCRM token expired at "+exp.UTC().Format(time.RFC3339))
		r.Remedy = remedyReauth
	case left < s.cfg.TokenWarnBefore:
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T(fmt.Sprintf("токен amoCRM истекает через %s (%s)", left.Round(time.Minute), exp.UTC().Format("02.01.2006 15:04 UTC")),
			fmt.Sprintf("the amoCRM token expires in %s (%s)", left.Round(time.Minute), exp.UTC().Format(time.RFC3339)))
		r.Remedy = chatter.T("Заранее выпустите новый долгосрочный токен или переподключите интеграцию.",
			"Issue a new long-lived token or reconnect the integration before it expires.")
	}
	return r
}

func (s *Sink) checkRights(ctx context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Права пользователя интеграции в amoCRM", "Rights of the integration's amoCRM user"),
		Status: chatter.StatusOK, Guide: GuideDelivery}
	acc, _, err := s.cfg.Client.Account.Get(ctx, nil)
	if err != nil {
		return failFromErr(r, chatter.T("не удалось прочитать аккаунт", "could not read the account"), err)
	}
	u, _, err := s.cfg.Client.Users.Get(ctx, acc.CurrentUserID, nil)
	if err != nil {
		return failFromErr(r, chatter.T("не удалось прочитать права пользователя", "could not read the user's rights"), err)
	}
	r.Details = map[string]string{"user_id": strconv.Itoa(u.ID), "user": u.Name}
	if u.Rights == nil {
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T("amoCRM не вернул права пользователя", "amoCRM returned no rights for the user")
		return r
	}
	rt := u.Rights
	var ru, en []string
	need := func(ok bool, wru, wen string) {
		if !ok {
			ru, en = append(ru, wru), append(en, wen)
		}
	}
	allowed := func(v string) bool { return v != "D" }
	need(rt.IsActive, "пользователь отключён", "the user is deactivated")
	need(allowed(rt.Leads.Add), "нет права создавать сделки", "no right to add leads")
	need(allowed(rt.Leads.View), "нет права просматривать сделки", "no right to view leads")
	need(allowed(rt.Leads.Edit), "нет права редактировать сделки (примечания)", "no right to edit leads (notes)")
	need(allowed(rt.Contacts.Add), "нет права создавать контакты", "no right to add contacts")
	need(allowed(rt.Contacts.View), "нет права просматривать контакты", "no right to view contacts")
	need(allowed(rt.Contacts.Edit), "нет права редактировать контакты", "no right to edit contacts")
	if rt.IsAdmin {
		r.Details["admin"] = "true"
	}
	if len(ru) > 0 {
		r.Status = chatter.StatusFail
		r.Cause = chatter.T("у пользователя "+u.Name+": "+strings.Join(ru, "; "), "user "+u.Name+": "+strings.Join(en, "; "))
		r.Remedy = chatter.T("Администратор amoCRM должен выдать пользователю интеграции права на создание и изменение сделок и контактов (Настройки → Пользователи → Права доступа) либо переподключить интеграцию от имени администратора.",
			"An amoCRM administrator must give the integration's user the rights to add and edit leads and contacts (Settings → Users → Access rights), or reconnect the integration as an administrator.")
		return r
	}
	if !rt.IsAdmin && s.cfg.WebhookURL != "" {
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T("пользователь интеграции не администратор: управлять вебхуками нельзя", "the integration's user is not an administrator: webhooks cannot be managed")
		r.Remedy = chatter.T("Переподключите интеграцию от имени администратора amoCRM.", "Reconnect the integration as an amoCRM administrator.")
	}
	return r
}

func (s *Sink) checkWebhooks(ctx context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Вебхуки amoCRM указывают на Чаттер", "amoCRM webhooks point at Chatter"),
		Status: chatter.StatusOK, Guide: GuideDelivery}
	if s.cfg.WebhookURL == "" {
		r.Status = chatter.StatusSkip
		r.Cause = chatter.T("адрес вебхука не настроен", "no webhook URL configured")
		return r
	}
	hooks, _, err := s.cfg.Client.Webhooks.List(ctx, nil)
	if err != nil {
		if amocrm.IsStatus(err, 403) {
			r.Status = chatter.StatusFail
			r.Cause = chatter.T("нет прав на просмотр вебхуков (нужен администратор)", "no right to list webhooks (an administrator is required)")
			r.Remedy = chatter.T("Переподключите интеграцию от имени администратора amoCRM.", "Reconnect the integration as an amoCRM administrator.")
			return r
		}
		return failFromErr(r, chatter.T("не удалось прочитать вебхуки", "could not list the webhooks"), err)
	}
	want := strings.TrimRight(s.cfg.WebhookURL, "/")
	r.Details = map[string]string{"url": s.cfg.WebhookURL, "subscriptions": strconv.Itoa(len(hooks))}
	for _, h := range hooks {
		if strings.TrimRight(h.Destination, "/") != want {
			continue
		}
		if h.Disabled {
			r.Status = chatter.StatusFail
			r.Cause = chatter.T("вебхук "+s.cfg.WebhookURL+" отключён в amoCRM", "the webhook "+s.cfg.WebhookURL+" is disabled in amoCRM")
			r.Remedy = chatter.T("Включите вебхук в настройках amoCRM или зарегистрируйте его заново; проверьте, что адрес доступен из интернета.",
				"Enable the webhook in amoCRM settings or register it again; check that the address is reachable from the internet.")
			return r
		}
		r.Details["events"] = strings.Join(h.Settings, ",")
		return r
	}
	r.Status = chatter.StatusFail
	r.Cause = chatter.T("в amoCRM нет вебхука на "+s.cfg.WebhookURL, "amoCRM has no webhook pointing at "+s.cfg.WebhookURL)
	r.Remedy = chatter.T("Зарегистрируйте вебхук (Настройки → Интеграции → Вебхуки или через API) на адрес Чаттера и проверьте его вручную.",
		"Register the webhook (Settings → Integrations → Webhooks, or through the API) at Chatter's address and test it manually.")
	return r
}

func (s *Sink) checkFields(ctx context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Поля сопоставления есть в amoCRM и подходят по типу", "Mapped fields exist in amoCRM with the right types"),
		Status: chatter.StatusOK, Guide: GuideFields}
	var (
		sch *fieldmap.Schema
		err error
	)
	if s.cfg.Schema != nil {
		sch, _, err = s.cfg.Schema.Get(ctx)
	} else {
		sch, err = fieldmap.FetchSchema(s.cfg.Client)(ctx)
	}
	if err != nil {
		return failFromErr(r, chatter.T("не удалось прочитать поля аккаунта", "could not read the account's fields"), err)
	}
	problems := fieldmap.Validate(s.cfg.Mapper, sch)
	var ru, en []string
	for _, p := range problems.Errors() {
		ru, en = append(ru, p.Path+": "+p.Message.RU), append(en, p.Path+": "+p.Message.EN)
	}
	own := func(fields []amocrm.CustomField, id int, what chatter.Text) {
		if id <= 0 {
			return
		}
		for _, f := range fields {
			if f.ID != id {
				continue
			}
			if f.Type != amocrm.FieldTypeText && f.Type != amocrm.FieldTypeTextarea {
				ru = append(ru, fmt.Sprintf("%s (#%d «%s») имеет тип %s, нужен text", what.RU, id, f.Name, f.Type))
				en = append(en, fmt.Sprintf("%s (#%d %q) has type %s, text is needed", what.EN, id, f.Name, f.Type))
			}
			return
		}
		ru = append(ru, fmt.Sprintf("%s: поля #%d нет в аккаунте", what.RU, id))
		en = append(en, fmt.Sprintf("%s: field #%d does not exist in the account", what.EN, id))
	}
	own(sch.Fields(amocrm.EntityLeads), s.cfg.MarkerField, chatter.T("поле-метка сделки", "the lead marker field"))
	own(sch.Fields(amocrm.EntityContacts), s.cfg.ContactTelegramIDField, chatter.T("поле контакта Telegram ID", "the contact's Telegram ID field"))
	own(sch.Fields(amocrm.EntityContacts), s.cfg.ContactUsernameField, chatter.T("поле контакта Telegram username", "the contact's Telegram username field"))
	if len(ru) > 0 {
		r.Status = chatter.StatusFail
		r.Cause = chatter.T(strings.Join(ru, "; "), strings.Join(en, "; "))
		r.Remedy = chatter.T("Создайте недостающие поля в amoCRM или исправьте сопоставление полей (названия и типы), затем создайте тестовую сделку и проверьте заполнение всех полей.",
			"Create the missing fields in amoCRM or fix the field mapping (names and types), then create a test lead and check every field.")
		return r
	}
	if w := problems.Warnings(); len(w) > 0 {
		r.Status = chatter.StatusWarn
		var wru, wen []string
		for _, p := range w {
			wru, wen = append(wru, p.Path+": "+p.Message.RU), append(wen, p.Path+": "+p.Message.EN)
		}
		r.Cause = chatter.T(strings.Join(wru, "; "), strings.Join(wen, "; "))
		r.Remedy = chatter.T("Проверьте сопоставление полей.", "Review the field mapping.")
	}
	return r
}

func (s *Sink) checkRateLimit(context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Лимит запросов amoCRM не превышается", "amoCRM request limit is respected"),
		Status: chatter.StatusOK, Guide: GuideRate}
	n := s.stats.Count429(s.cfg.RateWindow)
	total, total429 := s.stats.Totals()
	r.Details = map[string]string{"recent_429": strconv.Itoa(n), "window": s.cfg.RateWindow.String(),
		"requests_total": strconv.FormatInt(total, 10), "429_total": strconv.FormatInt(total429, 10)}
	if n == 0 {
		return r
	}
	r.Status = chatter.StatusWarn
	if n >= 10 {
		r.Status = chatter.StatusFail
	}
	r.Cause = chatter.T(fmt.Sprintf("amoCRM ответил 429 «слишком много запросов» %d раз за %s; повторные нарушения ведут к блокировке (403)", n, s.cfg.RateWindow),
		fmt.Sprintf("amoCRM answered 429 Too Many Requests %d times in %s; repeated violations lead to a block (403)", n, s.cfg.RateWindow))
	r.Remedy = chatter.T("Не превышайте 7 запросов в секунду на аккаунт: один экземпляр клиента на аккаунт (общий лимитер), очередь доставки, пакетная обработка; проверьте, не обращаются ли к аккаунту другие интеграции.",
		"Stay under 7 requests per second per account: one client per account (a shared limiter), the delivery queue, batching; check whether other integrations call the account.")
	return r
}

func (s *Sink) checkBlocked(ctx context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Аккаунт amoCRM не заблокирован", "amoCRM account is not blocked"),
		Status: chatter.StatusOK, Guide: GuideRate}
	if until, status := s.stats.BlockedUntil(); until.After(s.cfg.Now()) {
		r.Status = chatter.StatusFail
		r.Details = map[string]string{"until": until.UTC().Format(time.RFC3339), "status": strconv.Itoa(status)}
		r.Cause = chatter.T(fmt.Sprintf("amoCRM заблокировал запросы (HTTP %d) до %s", status, until.UTC().Format("02.01.2006 15:04 UTC")),
			fmt.Sprintf("amoCRM blocked requests (HTTP %d) until %s", status, until.UTC().Format(time.RFC3339)))
		r.Remedy = remedyBlocked
		return r
	}
	if _, _, err := s.cfg.Client.Account.Get(ctx, nil); err != nil {
		var be *amocrm.BlockedError
		if errors.As(err, &be) {
			s.stats.observeErr(err)
			return failFromErr(r, chatter.T("", ""), err)
		}
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T("не удалось проверить доступ к API: "+err.Error(), "could not check API access: "+err.Error())
		r.Remedy = chatter.T("См. проверку токена.", "See the token check.")
	}
	return r
}

// checkTokenSaved retries a pending save of the OAuth pair (so the check
// turns ok as soon as the store takes it) and fails while it is not stored.
func (s *Sink) checkTokenSaved(ctx context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Токен amoCRM сохранён в хранилище", "amoCRM token is saved in the store"),
		Status: chatter.StatusOK, Guide: GuideAuth}
	err := s.cfg.Client.SaveToken(ctx)
	var ns *amocrm.TokenNotSavedError
	if !errors.As(err, &ns) {
		if err != nil {
			r.Status = chatter.StatusWarn
			r.Cause = chatter.T("не удалось повторить сохранение токена: "+err.Error(), "could not retry saving the token: "+err.Error())
			r.Remedy = chatter.T("Повторите проверку.", "Run the check again.")
		}
		return r
	}
	r.Status = chatter.StatusFail
	r.Details = map[string]string{
		"since":        ns.Since.UTC().Format(time.RFC3339),
		"attempts":     strconv.Itoa(ns.Attempts),
		"next_attempt": ns.NextAttempt.UTC().Format(time.RFC3339),
	}
	cause := "<nil>"
	if ns.Err != nil {
		cause = ns.Err.Error()
	}
	r.Cause = chatter.T(
		fmt.Sprintf("новая пара токенов amoCRM, полученная %s, используется, но не сохранена в хранилище: неудачных попыток %d, последняя ошибка: %s",
			ns.Since.UTC().Format("02.01.2006 15:04:05 UTC"), ns.Attempts, cause),
		fmt.Sprintf("a new amoCRM token pair, issued at %s, is in use but not saved in the store: %d failed attempts, latest error: %s",
			ns.Since.UTC().Format(time.RFC3339), ns.Attempts, cause))
	r.Remedy = chatter.T(
		"Восстановите работу базы данных Чаттера (хранилища токенов): сохранение повторяется автоматически, и проверка станет успешной, когда оно пройдёт. До этого не перезапускайте процесс: amoCRM уже отозвал прежний токен обновления, и без сохранённой пары интеграцию придётся авторизовать заново. Другие экземпляры сервера, у которых истечёт токен, до этого момента получают ошибку авторизации.",
		"Restore Chatter's database (the token store): the save is retried automatically and this check turns ok once it succeeds. Until then do not restart the process: amoCRM has already revoked the previous refresh token, and without the saved pair the integration must be authorised again. Other server instances whose token expires get authorisation errors until then.")
	return r
}

// checkRateBudget reports the shared request budget's store calls.
func (s *Sink) checkRateBudget(context.Context) chatter.CheckResult {
	r := chatter.CheckResult{Title: chatter.T("Общий лимит запросов amoCRM работает", "amoCRM shared request budget works"),
		Status: chatter.StatusOK, Guide: GuideRate}
	calls, failures, lastAt, lastErr := s.stats.BudgetCalls()
	if calls == 0 {
		r.Status = chatter.StatusSkip
		r.Cause = chatter.T("запросы не распределяются через общий лимит хранилища: каждый процесс соблюдает 7 запросов в секунду сам по себе, и несколько экземпляров вместе его превысят",
			"requests are not paced by the store's shared budget: each process keeps to 7 requests per second on its own, and several instances together exceed it")
		r.Remedy = chatter.T("Если работают несколько экземпляров, создавайте клиент amoCRM через amocrmsink.NewClient с тем же Stats.",
			"If several instances run, build the amoCRM client with amocrmsink.NewClient and the same Stats.")
		return r
	}
	r.Details = map[string]string{"store_calls": strconv.FormatInt(calls, 10), "failures": strconv.FormatInt(failures, 10)}
	if lastErr == nil || !lastAt.After(s.cfg.Now().Add(-s.cfg.RateWindow)) {
		return r
	}
	r.Status = chatter.StatusFail
	r.Details["last_failure"] = lastAt.UTC().Format(time.RFC3339)
	r.Cause = chatter.T(
		fmt.Sprintf("хранилище не ответило на запрос к общему лимиту amoCRM (%s): %v; пока это так, запросы к amoCRM не отправляются, чтобы не превысить лимит", lastAt.UTC().Format("02.01.2006 15:04:05 UTC"), lastErr),
		fmt.Sprintf("the store failed a call of the shared amoCRM request budget (%s): %v; while it fails no requests are sent to amoCRM, so the limit is never exceeded", lastAt.UTC().Format(time.RFC3339), lastErr))
	r.Remedy = chatter.T("Проверьте подключение к базе данных Чаттера; доставки продолжатся сами, когда она ответит.",
		"Check the connection to Chatter's database; deliveries resume by themselves once it answers.")
	return r
}
