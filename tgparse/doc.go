// Package tgparse reads Telegram groups and channels with user accounts
// (MTProto, github.com/gotd/td) and hands new messages that pass the keyword
// rules to a chatter.Handler: the "parser" source of Chatter.
//
// # What it does
//
//   - Accounts (Account: phone, api_id/api_hash, device, SOCKS5 or MTProxy
//     proxy) are kept sealed in the chatter store (AccountStore); sessions
//     go to chatter.SessionStore through SessionStorage, sealed and fenced by
//     the account's session lease, so one session never runs in two places
//     (a second instance fails at once with ErrSessionInUse instead of
//     getting AUTH_KEY_DUPLICATED).
//   - Login is a step-by-step API for a UI: SendCode, SignIn, Password, with
//     typed errors (ErrCodeInvalid, ErrCodeExpired, ErrPasswordNeeded,
//     ErrPasswordInvalid, ErrPhoneBanned, ErrFloodWait, ErrUnreachable when
//     Telegram does not answer, ErrProxy when the account's proxy does not…)
//     that carry Russian and English texts (Error.Message, Error.Remedy). A
//     step never returns a nil result without an error.
//   - Chats are given as @username, t.me links (t.me/name, t.me/name/123,
//     t.me/c/123/45) or invite links (t.me/+hash, t.me/joinchat/hash):
//     ParseLink is a pure function; Source resolves them per account and
//     joins when ChatConfig.Join is set.
//   - Source reads each chat's history to a Depth (a count and/or a date) in
//     pages of 100, then follows it live (gotd's updates manager wakes the
//     reader; a poll every PollInterval covers what updates miss). Depth
//     bounds the first read of a chat only. A checkpoint per chat advances
//     only after the Handler returned nil; after a restart or downtime the
//     chat is read forward from it, oldest first (offset_id = checkpoint+1,
//     add_offset = -100), however large the backlog, in passes of
//     MaxBackfill messages that follow one another at once: nothing is
//     skipped and nothing is emitted twice. A FLOOD_WAIT during a catch-up
//     is waited out, or rests the account, and the chat goes on from its
//     checkpoint. Live updates only wake the reader, so a live message
//     reaches the Handler after the backlog before it and the checkpoint
//     never passes an unread message. Edits and deletions are not
//     followed: a message edited during a downtime and not read yet is
//     handed over once, as edited; one edited or deleted after it was
//     handed over is not handed over again, and one deleted before it was
//     read never is.
//   - The account pool limits each account's request rate and chats, waits
//     out short FLOOD_WAITs, moves chats off accounts with long ones, and
//     keeps typed account states (AccountStatus) with the remedies of the
//     support guide.
//   - Messages become chatter.Message by Normalize (pure): Key{SourceParser,
//     Name, Bot API chat id (-100… for channels, as tgbot), message id} and a
//     t.me link.
//   - Checks: account state, proxy, chat access, and "messages not found"
//     explained with numbers (scanned/matched per rule, depth reached, last
//     checkpoint).
//
// Package tgparsetest is an in-process Telegram to develop and test against.
//
// # Quick start
//
//	conn := tgparse.Connection{Workspace: "ws", Store: store, Sealer: sealer} // store: a chatter.Store
//	accounts, _ := tgparse.NewAccountStore(store, sealer, "ws")
//	login, _ := tgparse.NewLogin(conn, accounts)
//	acct := tgparse.Account{ID: "sales1", Phone: "+79991234567", APIID: apiID, APIHash: apiHash,
//		Proxy: "socks5://user:pass@10.0.0.1:1080"}
//	state, err := login.SendCode(ctx, acct)       // Telegram sends a code
//	_, err = login.SignIn(ctx, state, code)       // the code from the UI
//	if errors.Is(err, tgparse.ErrPasswordNeeded) {
//		_, err = login.Password(ctx, state, password) // two-step verification
//	}
//
//	rules, _ := keyword.Compile(keyword.Config{Rules: keyword.ParseRules("ремонт -бесплатно")})
//	src, err := tgparse.NewSource(tgparse.SourceConfig{
//		Connection: conn,
//		Accounts:   []tgparse.Account{acct},
//		Chats:      []tgparse.ChatConfig{{Ref: "@remont_chat"}, {Ref: "https://t.me/+AbCd", Join: true}},
//		Depth:      tgparse.Depth{Count: 500, Since: time.Now().AddDate(0, 0, -7)},
//		Filter:     rules,
//	})
//	err = src.Run(ctx, pipeline) // pipeline: a chatter.Handler
//	results := chatter.RunChecks(ctx, src.Checks(), chatter.CheckOptions{})
//
// # Limits
//
// Private chats with users and basic groups resolve by invite link only (no
// @username for groups); t.me/c/<id> links work for channels the account is
// a member of (their access hash must be known to Telegram for the id).
// Telegram pushes live updates only for chats the account has joined: public
// channels read without joining are polled every PollInterval.
package tgparse
