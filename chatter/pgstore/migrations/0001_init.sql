-- 0001_init: the pgstore tables. {schema} is replaced by the quoted schema
-- name and a dot (or nothing, to use search_path). Every row of the domain
-- carries its workspace.

CREATE TABLE {schema}chatter_messages (
    id           bigserial   PRIMARY KEY,
    workspace    text        NOT NULL,
    source       text        NOT NULL,
    account      text        NOT NULL,
    chat_id      bigint      NOT NULL,
    message_id   bigint      NOT NULL,
    revision     bigint      NOT NULL DEFAULT 0,
    body         json        NOT NULL, -- the Message without Raw (json keeps the text exactly)
    raw          bytea,                -- Message.Raw, byte for byte
    state        text        NOT NULL,
    verdict      json        NOT NULL,
    priority     integer     NOT NULL,
    max_attempts integer     NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    round        integer     NOT NULL DEFAULT 1, -- delivery round; Replay starts a new one (fences stale jobs)
    error_class  text        NOT NULL DEFAULT '',
    last_error   text        NOT NULL DEFAULT '',
    result       json,
    received_at  timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    delivered_at timestamptz,
    next_at      timestamptz,
    CONSTRAINT chatter_messages_key UNIQUE (workspace, source, account, chat_id, message_id, revision),
    CONSTRAINT chatter_messages_state CHECK (state IN ('received', 'filtered', 'queued', 'delivering', 'delivered', 'failed', 'dead')),
    CONSTRAINT chatter_messages_priority CHECK (priority BETWEEN 0 AND 3),
    CONSTRAINT chatter_messages_max_attempts CHECK (max_attempts >= 1)
);
CREATE INDEX chatter_messages_received ON {schema}chatter_messages (workspace, received_at DESC, id DESC);
CREATE INDEX chatter_messages_state_idx ON {schema}chatter_messages (workspace, state);

CREATE SEQUENCE {schema}chatter_lease_token_seq;

CREATE TABLE {schema}chatter_leases (
    workspace  text        NOT NULL,
    name       text        NOT NULL,
    holder     text        NOT NULL,
    token      bigint      NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (workspace, name)
);

CREATE TABLE {schema}chatter_sessions (
    workspace  text        NOT NULL,
    account    text        NOT NULL,
    sealed     bytea       NOT NULL, -- chatter.Sealer output, bound to workspace and account
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace, account)
);

CREATE TABLE {schema}chatter_tokens (
    workspace  text        NOT NULL,
    account    text        NOT NULL,
    sealed     bytea       NOT NULL, -- access and refresh tokens, sealed together
    token_type text        NOT NULL DEFAULT '',
    expires_at timestamptz,
    api_domain text        NOT NULL DEFAULT '',
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace, account)
);

CREATE TABLE {schema}chatter_contacts (
    workspace   text        NOT NULL,
    contact_id  bigint      NOT NULL,
    telegram_id bigint,
    username    text,
    phone       text,
    lead_id     bigint      NOT NULL DEFAULT 0,
    lead_at     timestamptz,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (workspace, contact_id)
);
CREATE UNIQUE INDEX chatter_contacts_telegram ON {schema}chatter_contacts (workspace, telegram_id) WHERE telegram_id IS NOT NULL;
CREATE INDEX chatter_contacts_username ON {schema}chatter_contacts (workspace, username) WHERE username IS NOT NULL;
CREATE INDEX chatter_contacts_phone ON {schema}chatter_contacts (workspace, phone) WHERE phone IS NOT NULL;

CREATE TABLE {schema}chatter_checkpoints (
    workspace  text        NOT NULL,
    source     text        NOT NULL,
    account    text        NOT NULL,
    chat_id    bigint      NOT NULL,
    message_id bigint      NOT NULL,
    at         timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace, source, account, chat_id)
);

CREATE TABLE {schema}chatter_events (
    id          bigserial   PRIMARY KEY,
    workspace   text        NOT NULL,
    at          timestamptz NOT NULL,
    level       integer     NOT NULL,
    category    text        NOT NULL DEFAULT '',
    error_class text        NOT NULL DEFAULT '',
    source      text        NOT NULL DEFAULT '',
    message_key text        NOT NULL DEFAULT '',
    text        text        NOT NULL,
    attrs       json
);
CREATE INDEX chatter_events_ws ON {schema}chatter_events (workspace, id DESC);
CREATE INDEX chatter_events_at ON {schema}chatter_events (at);

CREATE TABLE {schema}chatter_settings (
    workspace  text        NOT NULL,
    key        text        NOT NULL,
    value      json        NOT NULL,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace, key)
);

-- UNLOGGED: a booking commits without waiting for a WAL flush, so the row
-- lock that serialises bookings is held for microseconds, not an fsync. The
-- table is emptied by crash recovery and not replicated; the budget then
-- restarts from "now", which is the GCRA state of an idle key.
CREATE UNLOGGED TABLE {schema}chatter_rate_budget (
    workspace text        NOT NULL,
    key       text        NOT NULL,
    tat       timestamptz NOT NULL, -- GCRA theoretical arrival time: the next free slot
    PRIMARY KEY (workspace, key)
);
