// Package tgbot connects a Telegram bot (Bot API) to Chatter: a typed Bot API
// client, a chatter.Source (long polling, or a webhook http.Handler), the
// normalisation of updates into chatter.Message, a registry of the chats the
// bot is in, an optional auto-reply, a chatter.Notifier that writes to
// Telegram chats, and diagnostics (chatter.Check) for the support guide's
// "Telegram бот не отвечает" and "Сообщения не доходят до CRM".
//
// Quick start (long polling):
//
//	client, err := tgbot.NewClient(token)
//	if err != nil { ... }
//	src, err := tgbot.NewSource(tgbot.Config{Client: client, Workspace: "acme"})
//	if err != nil { ... }
//	err = src.Run(ctx, pipeline) // pipeline is a chatter.Handler
//
// Webhook mode: set Config.Mode = tgbot.ModeWebhook, SecretToken and
// (optionally) WebhookURL, mount src.WebhookHandler() on your HTTP server and
// call src.Run(ctx, pipeline); the handler answers Telegram with 200 only
// after the pipeline made the message durable.
//
// Chat registry: set Config.Store (a chatter.Store, or any
// chatter.SettingsStore) to keep the registry of the bot's chats and rights
// in the store, one setting per chat, so it survives restarts; without it
// the registry lives in memory and is rebuilt from the updates that come.
//
// Inline buttons: set Config.OnCallbackQuery to receive presses (for example
// on "Принять заявку" under a notification); the Source then asks Telegram
// for callback_query updates and answers each press after the hook.
//
// Albums: in polling mode the parts of an album (photos or files sent
// together, one update each) are handed on as one message with all their
// attachments once Config.AlbumWindow has passed without a new part, or
// when the chat's next message arrives; until then they are not
// acknowledged (see NormalizeAlbum).
//
// Delivery is at least once: the polling offset advances and the webhook
// answers 200 only after Handle returned nil; otherwise Telegram keeps the
// update and it comes again. Handlers dedupe by chatter.Key.
//
// Errors: *Error for Bot API errors (with helpers Unauthorized, Blocked,
// NotMember, Migrated, WebhookActive and Problem for operator texts),
// *RateLimitError for 429 (chatter.RetryAfter sees its wait),
// *TransportError for network failures, *PollingConflictError when polling
// meets a webhook, *ConfigError (wrapping chatter.ErrInvalid, with a Russian
// and English message) for a Config NewSource refuses. Tokens never appear
// in logs or error texts.
//
// Tests use package tgbottest, a fake Bot API server:
//
//	srv := tgbottest.NewServer(t)
//	token, bot := srv.AddBot("shop_bot")
//	client, _ := tgbot.NewClient(token, tgbot.WithBaseURL(srv.URL))
package tgbot
