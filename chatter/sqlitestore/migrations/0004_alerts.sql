-- 0004_alerts: episodes of ongoing problems (chatter.Alert), one per
-- workspace and key, written in the same transaction as the delivery outcome
-- that raised or resolved them, so each is notified once, not per message.

CREATE TABLE chatter_alerts (
    workspace   TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    opened_at   INTEGER NOT NULL,                -- Unix nanoseconds (store clock)
    notified_at INTEGER NOT NULL,                -- the key's last notification
    resolved_at INTEGER,                         -- NULL while the episode is open
    PRIMARY KEY (workspace, key)
) STRICT;
