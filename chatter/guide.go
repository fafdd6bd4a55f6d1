package chatter

// The support guide's problems. CheckResult.Guide holds one of these ids, so
// a diagnostics page or a doctor command can group every check under the
// problem of the guide it helps to solve.
const (
	GuideLogin            = "login"              // «Не могу войти в систему»
	GuideAmoCRMAuth       = "amocrm-auth"        // «Ошибка авторизации через amoCRM»
	GuideBotSilent        = "bot-silent"         // «Telegram бот не отвечает»
	GuideDelivery         = "crm-delivery"       // «Сообщения не доходят до CRM»
	GuideAccountBlocked   = "account-blocked"    // «Аккаунт заблокирован»
	GuideMessagesNotFound = "messages-not-found" // «Не находятся сообщения в чате»
	GuideRateLimit        = "amocrm-429"         // «Ошибка 429 Too Many Requests»
	GuideFields           = "crm-fields"         // «Сделки создаются с неправильными полями»
	GuideSlow             = "slow"               // «Система работает медленно»
	GuideNotifications    = "notifications"      // «Уведомления не приходят»
)

// GuideProblem is one problem of the support guide.
type GuideProblem struct {
	ID    string `json:"id"`    // one of the Guide* constants
	Title Text   `json:"title"` // the problem as the guide names it
	// Section is the guide's section the problem is listed under.
	Section Text `json:"section"`
}

// GuideProblems lists the support guide's ten problems in the guide's order.
func GuideProblems() []GuideProblem {
	auth := T("Проблемы с авторизацией", "Authorisation problems")
	sources := T("Проблемы с источниками сообщений", "Message source problems")
	parsing := T("Проблемы с парсингом Telegram", "Telegram parsing problems")
	amo := T("Проблемы с интеграцией amoCRM", "amoCRM integration problems")
	return []GuideProblem{
		{GuideLogin, T("Не могу войти в систему", "Cannot log in"), auth},
		{GuideAmoCRMAuth, T("Ошибка авторизации через amoCRM", "amoCRM authorisation error"), auth},
		{GuideBotSilent, T("Telegram бот не отвечает", "The Telegram bot does not respond"), sources},
		{GuideDelivery, T("Сообщения не доходят до CRM", "Messages do not reach the CRM"), sources},
		{GuideAccountBlocked, T("Аккаунт заблокирован", "The account is blocked"), parsing},
		{GuideMessagesNotFound, T("Не находятся сообщения в чате", "Messages are not found in a chat"), parsing},
		{GuideRateLimit, T("Ошибка 429 Too Many Requests", "Error 429 Too Many Requests"), amo},
		{GuideFields, T("Сделки создаются с неправильными полями", "Leads are created with wrong fields"), amo},
		{GuideSlow, T("Система работает медленно", "The system is slow"), T("Проблемы с производительностью", "Performance problems")},
		{GuideNotifications, T("Уведомления не приходят", "Notifications do not arrive"), T("Проблемы с уведомлениями", "Notification problems")},
	}
}
