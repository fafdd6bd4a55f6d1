-- 0005_alerts: episodes of ongoing problems (chatter.Alert), one per
-- workspace and key, written in the same transaction as the delivery outcome
-- that raised or resolved them, so each is notified once, not per message.

CREATE TABLE {schema}chatter_alerts (
    workspace   text        NOT NULL,
    key         text        NOT NULL,
    opened_at   timestamptz NOT NULL,
    notified_at timestamptz NOT NULL, -- the key's last notification
    resolved_at timestamptz,          -- NULL while the episode is open
    PRIMARY KEY (workspace, key)
);
