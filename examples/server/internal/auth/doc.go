// Package auth is the reference server's accounts and sign-in: users and
// roles, argon2id passwords and their policy, lockout after failed logins,
// sessions, "forgot password" links and forced or expired password changes,
// with every step on the event log. It has no HTTP handlers: the web
// package calls a *Service and maps its typed errors to pages (Message
// gives each error's Russian and English text; Problems gives field-level
// form errors).
//
// # Storage
//
// Everything lives in the chatter store's versioned key/value table
// (chatter.SettingsStore, which chattertest.MemStore, sqlitestore and
// pgstore implement) in the reserved workspace ServerWorkspace, so any
// instance sharing the store serves any request and no extra schema or
// migration is needed. Every write is a compare-and-swap on the row's
// version; read-modify-write operations re-read and re-apply on a lost race
// (so concurrent failed logins all count and no update is lost). Rows:
//
//	user/<id>                 the user, with the argon2id PHC hash
//	user-login/<lower login>  uniqueness claim: → user id
//	user-email/<lower email>  uniqueness claim: → user id
//	session/<user id>/<slot>  a session: SHA-256 of its secret, times, address, agent
//	reset/<user id>           the current reset link (SHA-256), its expiry, the throttle
//	ticket/<user id>          the current change-password ticket (SHA-256)
//	unknown-login/<bucket>    failure counters of logins that match no user
//	auth-key, setup           the bucket key; the first-run claim
//
// Uniqueness: a login or e-mail is taken by writing its claim row with
// compare-and-swap before the user row, so of two concurrent Creates of one
// login (on one instance or two) exactly one wins and the other gets a field
// error. A claim whose user row is deleted or no longer carries that login or
// address is dead and is taken over; one whose user row never appeared (a
// Create that crashed between its two writes) blocks the name for one minute.
// Lookups by login or e-mail go through the claim and check that the user
// still carries the name.
//
// The trade-off against a dedicated table: no schema, the same code on the
// three stores, and the CAS guarantees the store already tests; but no
// multi-row transactions (hence claims and the dead-claim rule), no
// secondary indexes (List and the admin count read all users: fine for the
// tens of accounts a company has), and no delete. Removed rows are written as
// JSON null (tombstones) and reused: sessions go into per-user slots (at
// most Config.MaxSessionsPerUser, the least recently used ending first),
// reset links and tickets are one row per user, and unknown-login counters
// are a bounded table, so the row count stays bounded by the number of
// users. Tokens are therefore "<user id>.<secret>" (sessions
// "<user id>.<slot>.<secret>") rather than a bare secret: the id names the
// row, the secret's SHA-256 is compared in constant time.
//
// # Passwords
//
// argon2id (golang.org/x/crypto/argon2) with DefaultHash: m=19 MiB, t=2, p=1
// (OWASP), a 16-byte salt and a 32-byte key, stored as a PHC string
// ("$argon2id$v=19$m=19456,t=2,p=1$salt$key") so the parameters can change:
// a hash with other parameters than Config.Hash is redone on the next
// successful login. Config.HashConcurrency bounds concurrent hashing (and so
// its memory). Policy: at least Config.MinPasswordLength (10) characters, at
// most 1024 bytes, not containing the login (3+ characters; equal to it at
// any length) or the e-mail address's local part (4+ characters), ignoring
// case; a new password must differ from the current one.
// GenerateOneTimePassword makes the passwords the demo and `user add` hand
// out, with MustChangePassword set.
//
// # Logging in
//
// Authenticate takes a login or an e-mail address (ignoring case) and a
// password. MaxFailures (5) wrong passwords within FailureWindow (15 min)
// lock the account for LockFor (15 min); while locked every password, the
// right one too, gets *LockedError with the time it ends. A right password
// clears the counter; then a blocked account gets *BlockedError, an ended
// access *AccessExpiredError, a forced change *MustChangePasswordError and
// an expired password (Config.PasswordMaxAge) *PasswordExpiredError; the
// last two carry a ticket for ChangePasswordWithTicket, the change form.
//
// What a stranger can learn: nothing about whether a login exists. Unknown
// logins cost the same argon2id work, answer ErrBadCredentials, and are
// counted and locked exactly like real accounts (in a table keyed by an
// HMAC with a per-store random key, so the lockout sequence is the same);
// states other than a lockout are told only after the right password; and
// Authenticate and RequestReset take at least Config.MinResponse (300 ms,
// listmonk's padding). The price of lockouts is that a stranger can lock a
// real user out for 15 minutes; the user can still reset the password by
// e-mail, which lifts the lockout, or an administrator can Unlock.
//
// # Sessions
//
// CreateSession after every login (a fresh secret: rotation on login).
// The cookie holds 32 random bytes (base64url) and the store only their
// SHA-256. LookupSession checks the idle timeout (12 h, sliding, last-seen
// written at most once a minute), the absolute lifetime (30 days) and that
// the user may still log in, so blocking, ending access, forcing a password
// change or deleting a user stops their sessions at the next request; a
// password change (any way) and Block also end them at once. RotateSession
// gives a live session a new secret; DeleteSession is logout;
// RevokeSession, ListSessions and DeleteUserSessions serve the account
// pages. A session has a flash-message slot (SetFlash, TakeFlash). Prune,
// run periodically by the app, clears expired rows. The cookie flags
// (HttpOnly, SameSite=Lax, Secure under HTTPS) and http.CrossOriginProtection
// are the web package's.
//
// # Password reset
//
// RequestReset returns a token for a known, active address and an empty one
// (no error) otherwise, so the page answers alike; the caller mails the
// link through the configured notifier. One link per account at a time (a
// new one replaces it), at most one per Config.ResetInterval (5 min) per
// account, valid for Config.ResetTTL (1 h), consumed atomically by
// ConsumeReset, which applies the policy, lifts a lockout and ends all
// sessions. Throttling by the requester's address is left to the web layer.
//
// # Events
//
// Logins (succeeded, failed, refused with the reason), lockouts, unlocks,
// blocks, resets (requested, not sent, refused, done), password changes,
// users created or deleted, role, expiry, language and profile changes go to
// Config.Logger with category=auth and workspace=ServerWorkspace, who did
// it (by, by_id), to whom (user, user_id) and from which address (addr).
// Never a password, hash, token or session secret; a login typed that
// matches no user is logged as its first two characters and length unless
// it is an e-mail address, since people type passwords into the login
// field.
//
// # Roles
//
// RoleAdmin may do everything; RoleManager reads the ledger and logs of
// User.Workspaces and replays there (User.CanAccess). The web package
// enforces who may call what; the Service refuses an administrator
// blocking, deleting or demoting themselves (ErrSelf) and removing the last
// active administrator (ErrLastAdmin; checked before the write, so two
// administrators demoting each other at the same instant can both succeed
// and `user add -role admin` recovers). HasAdmin tells whether to offer the
// first-run page, and CreateFirstAdmin creates at most one administrator
// from it across all instances.
package auth
