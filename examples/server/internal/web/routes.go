package web

import "net/http"

// routes registers every page. Each handler lives in a file of its own
// named after it (login_check.go: loginCheck); its template is
// templates/<page>.html.
func (s *server) routes(mux *http.ServeMux) {
	mux.Handle("GET /static/", s.static)
	mux.HandleFunc("POST /lang", s.langSwitch)

	// Signing in, out, the first run and forgotten passwords.
	mux.HandleFunc("GET /setup", s.setupShow)
	mux.HandleFunc("POST /setup", s.setupCreate)
	mux.HandleFunc("GET /login", s.loginShow)
	mux.HandleFunc("POST /login", s.loginCheck)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("POST /password/change", s.passwordChange)
	mux.HandleFunc("GET /forgot", s.forgotShow)
	mux.HandleFunc("POST /forgot", s.forgotSend)
	mux.HandleFunc("GET /reset", s.resetShow)
	mux.HandleFunc("POST /reset", s.resetCheck)

	// The sections of the navigation bar.
	mux.HandleFunc("GET /{$}", s.signedIn(s.overviewShow))
	mux.HandleFunc("GET /sources", s.adminOnly(s.sourcesShow))
	s.sourceRoutes(mux)
	mux.HandleFunc("GET /amocrm", s.adminOnly(s.amocrmShow))
	mux.HandleFunc("POST /amocrm/token", s.adminOnly(s.amocrmToken))
	mux.HandleFunc("POST /amocrm/oauth", s.adminOnly(s.amocrmOAuth))
	mux.HandleFunc("POST /amocrm/connect", s.adminOnly(s.amocrmConnect))
	mux.HandleFunc("POST /amocrm/webhooks", s.adminOnly(s.amocrmSubscribe))
	mux.HandleFunc("POST /amocrm/check", s.adminOnly(s.amocrmCheck))
	mux.HandleFunc("GET /mapping", s.adminOnly(s.mappingShow))
	mux.HandleFunc("POST /mapping/check", s.adminOnly(s.mappingCheck))
	mux.HandleFunc("POST /mapping/preview", s.adminOnly(s.mappingPreview))
	mux.HandleFunc("POST /mapping/save", s.adminOnly(s.mappingSave))
	mux.HandleFunc("POST /mapping/test-lead", s.adminOnly(s.mappingTestLead))
	mux.HandleFunc("GET /notifications", s.adminOnly(s.notificationsShow))
	mux.HandleFunc("POST /notifications/{ws}/smtp", s.adminOnly(s.notificationsSMTPSave))
	mux.HandleFunc("POST /notifications/{ws}/smtp/send", s.adminOnly(s.notificationsSMTPSend))
	mux.HandleFunc("POST /notifications/{ws}/email", s.adminOnly(s.notificationsEmailSave))
	mux.HandleFunc("POST /notifications/{ws}/telegram", s.adminOnly(s.notificationsTelegramSave))
	mux.HandleFunc("POST /notifications/{ws}/telegram/send", s.adminOnly(s.notificationsTelegramSend))
	mux.HandleFunc("POST /notifications/{ws}/webhooks", s.adminOnly(s.notificationsWebhooksSave))
	mux.HandleFunc("POST /notifications/{ws}/webhooks/send", s.adminOnly(s.notificationsWebhookSend))
	mux.HandleFunc("GET /deliveries", s.signedIn(s.deliveriesList))
	mux.HandleFunc("GET /deliveries/live", s.signedIn(s.deliveriesLive))
	mux.HandleFunc("POST /deliveries/replay-dead", s.signedIn(s.deliveriesReplayDead))
	mux.HandleFunc("GET /deliveries/{ws}/{key}", s.signedIn(s.deliveriesShow))
	mux.HandleFunc("POST /deliveries/{ws}/{key}/replay", s.signedIn(s.deliveriesReplay))
	mux.HandleFunc("GET /admin/logs", s.signedIn(s.logsList))
	mux.HandleFunc("GET /admin/logs/live", s.signedIn(s.logsLive))
	mux.HandleFunc("GET /admin/logs/export.csv", s.signedIn(s.logsExportCSV))
	mux.HandleFunc("GET /admin/logs/export.jsonl", s.signedIn(s.logsExportJSONL))
	mux.HandleFunc("GET /diagnostics", s.adminOnly(s.diagnosticsShow))
	mux.HandleFunc("POST /diagnostics/run", s.adminOnly(s.diagnosticsRun))
	mux.HandleFunc("GET /diagnostics/bundle", s.adminOnly(s.diagnosticsBundle))

	// Профиль: one's own language, password and sessions.
	mux.HandleFunc("GET /profile", s.signedIn(s.profileShow))
	mux.HandleFunc("POST /profile/language", s.signedIn(s.profileLanguage))
	mux.HandleFunc("POST /profile/password", s.signedIn(s.profilePassword))
	mux.HandleFunc("POST /profile/sessions/end", s.signedIn(s.profileSessionEnd))

	// Пользователи: administrators only.
	mux.HandleFunc("GET /users", s.adminOnly(s.userList))
	mux.HandleFunc("GET /users/new", s.adminOnly(s.userNew))
	mux.HandleFunc("POST /users", s.adminOnly(s.userCreate))
	mux.HandleFunc("GET /users/{id}", s.adminOnly(s.userShow))
	mux.HandleFunc("POST /users/{id}/block", s.adminOnly(s.userBlock))
	mux.HandleFunc("POST /users/{id}/unblock", s.adminOnly(s.userUnblock))
	mux.HandleFunc("POST /users/{id}/unlock", s.adminOnly(s.userUnlock))
	mux.HandleFunc("POST /users/{id}/expiry", s.adminOnly(s.userExpiry))
	mux.HandleFunc("POST /users/{id}/force-change", s.adminOnly(s.userForceChange))
	mux.HandleFunc("POST /users/{id}/password", s.adminOnly(s.userPassword))
	mux.HandleFunc("POST /users/{id}/role", s.adminOnly(s.userRole))
	mux.HandleFunc("POST /users/{id}/delete", s.adminOnly(s.userDelete))

	mux.HandleFunc("/", s.notFound)
}
