-- 0001_init: the Chatter tables. Every table has a workspace column and every
-- primary or unique key starts with it, so no query crosses workspaces.

CREATE TABLE chatter_messages (
    id           INTEGER PRIMARY KEY,
    workspace    TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    account      TEXT    NOT NULL,
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    revision     INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    verdict      TEXT    NOT NULL,               -- JSON chatter.Verdict
    priority     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,               -- per round
    attempts     INTEGER NOT NULL DEFAULT 0,
    round        INTEGER NOT NULL DEFAULT 1,     -- bumped by Replay; a job of an older round is a no-op
    attempt_base INTEGER NOT NULL DEFAULT 0,     -- attempts made in earlier rounds (before the last Replay)
    error_class  TEXT    NOT NULL DEFAULT '',
    last_error   TEXT    NOT NULL DEFAULT '',
    result       TEXT,                           -- JSON chatter.DeliveryResult
    received_at  INTEGER NOT NULL,               -- Unix nanoseconds (store clock)
    updated_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    next_at      INTEGER,
    body         TEXT    NOT NULL,               -- JSON chatter.Message without Raw
    raw          BLOB,                           -- Message.Raw, byte for byte
    UNIQUE (workspace, source, account, chat_id, message_id, revision)
) STRICT;
CREATE INDEX chatter_messages_received ON chatter_messages (workspace, received_at DESC, id DESC);
CREATE INDEX chatter_messages_state ON chatter_messages (workspace, state, received_at DESC);

CREATE TABLE chatter_contacts (
    workspace   TEXT    NOT NULL,
    contact_id  INTEGER NOT NULL,
    telegram_id INTEGER,                         -- NULL when unknown
    username    TEXT,                            -- lower case, no '@'; NULL when unknown
    phone       TEXT,
    lead_id     INTEGER NOT NULL DEFAULT 0,
    lead_at     TEXT,                            -- RFC 3339 with nanoseconds
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (workspace, contact_id)
) STRICT;
CREATE UNIQUE INDEX chatter_contacts_telegram ON chatter_contacts (workspace, telegram_id) WHERE telegram_id IS NOT NULL;
CREATE INDEX chatter_contacts_username ON chatter_contacts (workspace, username) WHERE username IS NOT NULL;
CREATE INDEX chatter_contacts_phone ON chatter_contacts (workspace, phone) WHERE phone IS NOT NULL;

CREATE TABLE chatter_tokens (
    workspace     TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    access_token  BLOB    NOT NULL,              -- sealed
    refresh_token BLOB    NOT NULL,              -- sealed
    token_type    TEXT    NOT NULL DEFAULT '',
    expires_at    TEXT,
    api_domain    TEXT    NOT NULL DEFAULT '',
    version       INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace, account)
) STRICT;

CREATE TABLE chatter_sessions (
    workspace   TEXT    NOT NULL,
    account     TEXT    NOT NULL,
    data        BLOB    NOT NULL,                -- sealed
    lease_token INTEGER NOT NULL,                -- fencing token of the lease that wrote it
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (workspace, account)
) STRICT;

CREATE TABLE chatter_leases (
    workspace  TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    holder     TEXT    NOT NULL,                 -- '' once released
    token      INTEGER NOT NULL,                 -- never decreases; the row is never deleted
    expires_at INTEGER NOT NULL,                 -- Unix nanoseconds (store clock)
    PRIMARY KEY (workspace, name)
) STRICT;

CREATE TABLE chatter_checkpoints (
    workspace  TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    account    TEXT    NOT NULL,
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    at         TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, source, account, chat_id)
) STRICT;

CREATE TABLE chatter_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, so ID cursors stay valid after pruning
    workspace   TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    level       INTEGER NOT NULL,
    category    TEXT    NOT NULL DEFAULT '',
    error_class TEXT    NOT NULL DEFAULT '',
    source      TEXT    NOT NULL DEFAULT '',
    message_key TEXT    NOT NULL DEFAULT '',
    text        TEXT    NOT NULL DEFAULT '',
    attrs       TEXT                               -- JSON object
) STRICT;
CREATE INDEX chatter_events_workspace ON chatter_events (workspace, id DESC);
CREATE INDEX chatter_events_time ON chatter_events (time);

CREATE TABLE chatter_settings (
    workspace  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, key)
) STRICT;

CREATE TABLE chatter_rate_budget (
    workspace TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    tat       INTEGER NOT NULL,                  -- GCRA theoretical arrival time, Unix nanoseconds
    PRIMARY KEY (workspace, key)
) STRICT;
