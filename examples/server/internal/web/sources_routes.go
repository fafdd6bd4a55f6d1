package web

import "net/http"

// sourceRoutes registers the pages of Источники below /sources (one line
// in routes.go): every one for administrators.
func (s *server) sourceRoutes(mux *http.ServeMux) {
	a := s.adminOnly
	// Bots.
	mux.HandleFunc("GET /sources/{ws}/bots/new", a(s.sourceBotNew))
	mux.HandleFunc("POST /sources/{ws}/bots", a(s.sourceBotCreate))
	mux.HandleFunc("GET /sources/{ws}/bots/{bot}", a(s.sourceBotShow))
	mux.HandleFunc("POST /sources/{ws}/bots/{bot}/check", a(s.sourceBotCheck))
	mux.HandleFunc("POST /sources/{ws}/bots/{bot}/token", a(s.sourceBotToken))
	mux.HandleFunc("POST /sources/{ws}/bots/{bot}/mode", a(s.sourceBotMode))
	mux.HandleFunc("POST /sources/{ws}/bots/{bot}/enabled", a(s.sourceBotEnable))
	mux.HandleFunc("POST /sources/{ws}/bots/{bot}/webhook/delete", a(s.sourceBotWebhookDelete))
	mux.HandleFunc("POST /sources/{ws}/bots/{bot}/chats/check", a(s.sourceBotChatCheck))
	// Parser accounts and their login.
	mux.HandleFunc("GET /sources/{ws}/accounts/new", a(s.sourceAccountNew))
	mux.HandleFunc("POST /sources/{ws}/accounts", a(s.sourceAccountCreate))
	mux.HandleFunc("GET /sources/{ws}/accounts/{acct}", a(s.sourceAccountShow))
	mux.HandleFunc("POST /sources/{ws}/accounts/{acct}/enabled", a(s.sourceAccountEnable))
	mux.HandleFunc("POST /sources/{ws}/accounts/{acct}/proxy", a(s.sourceAccountProxy))
	mux.HandleFunc("POST /sources/{ws}/accounts/{acct}/proxy/check", a(s.sourceAccountProxyCheck))
	mux.HandleFunc("POST /sources/{ws}/accounts/{acct}/login/send", a(s.sourceLoginSend))
	mux.HandleFunc("POST /sources/{ws}/accounts/{acct}/login/code", a(s.sourceLoginCode))
	mux.HandleFunc("POST /sources/{ws}/accounts/{acct}/login/password", a(s.sourceLoginPassword))
	mux.HandleFunc("POST /sources/{ws}/accounts/{acct}/login/cancel", a(s.sourceLoginCancel))
	// Parsed chats and the parser's settings.
	mux.HandleFunc("GET /sources/{ws}/chats", a(s.sourceChatsShow))
	mux.HandleFunc("POST /sources/{ws}/chats", a(s.sourceChatAdd))
	mux.HandleFunc("POST /sources/{ws}/parser", a(s.sourceParserSettings))
	mux.HandleFunc("POST /sources/{ws}/parser/restart", a(s.sourceParserRestart))
	mux.HandleFunc("GET /sources/{ws}/chat", a(s.sourceChatShow))
	mux.HandleFunc("POST /sources/{ws}/chat/update", a(s.sourceChatUpdate))
	mux.HandleFunc("POST /sources/{ws}/chat/remove", a(s.sourceChatRemove))
	// Keyword rules and their dry run.
	mux.HandleFunc("GET /sources/{ws}/keywords", a(s.sourceKeywordsShow))
	mux.HandleFunc("POST /sources/{ws}/keywords", a(s.sourceKeywordsSave))
	mux.HandleFunc("POST /sources/{ws}/keywords/dryrun", a(s.sourceKeywordsDryRun))
}
