// Package tgbottest is an in-process fake of the Telegram Bot API server for
// tests, in the style of net/http/httptest.
//
// It speaks the real HTTP protocol at /bot<token>/<method> (GET or POST;
// query string, JSON, urlencoded and multipart form bodies) and implements
// getMe, getUpdates (with Telegram's offset confirmation, long-poll timeout
// and 409 conflicts), setWebhook/deleteWebhook/getWebhookInfo (with real
// delivery: POST to the URL with X-Telegram-Bot-Api-Secret-Token, retried
// with backoff on non-2xx), getChat, getChatMember, getChatAdministrators,
// getChatMemberCount, sendMessage (HTML is checked like Telegram does) and
// answerCallbackQuery. Chats keep their messages, incoming and sent, so a
// reply (reply_parameters, or the legacy reply_to_message_id) comes back with
// reply_to_message set to the replied-to message, and a reply to a message
// the chat does not have (never sent, or removed with UserDeletes) fails with
// 400 "Bad Request: message to be replied not found" unless
// allow_sending_without_reply is true, when it is sent without the reply.
// UserSendsAlbum delivers an album as Telegram does: one message per part,
// sharing a media_group_id, in consecutive updates. Errors carry Telegram's descriptions ("Bad Request:
// chat not found", "Forbidden: bot was blocked by the user", 401
// "Unauthorized", 429 with parameters.retry_after, 400 with
// parameters.migrate_to_chat_id). Privacy mode is modelled: a bot with
// privacy on that is not an administrator sees in groups only commands,
// replies to it and mentions of it.
//
// It is written from the protocol, independently of package tgbot, so any
// Bot API client can be tested against it.
//
// Quick start:
//
//	srv := tgbottest.NewServer(t)
//	token, bot := srv.AddBot("shop_bot")
//	alice := srv.AddUser("alice", "Alice")
//	srv.UserWrites(srv.PrivateChat(alice, bot), alice, "Hello!")
//	// point the client under test at srv.URL with token; then
//	// bot.Sent() lists what it sent back.
//
// Standalone (without testing.T): s := tgbottest.New(); serve s as an
// http.Handler, call s.Start() for webhook deliveries and s.Close() at the
// end. The program examples/tgbot-fake does exactly that.
//
// Deviations from the real service, on purpose: plain-HTTP webhooks are
// accepted on loopback addresses; chat ids, file ids and tokens are
// generated locally; there are no files, inline mode or payments; replies
// stay within the chat (reply_parameters.chat_id and quote are not
// modelled).
package tgbottest
