-- 0007_ledger_order: listings in both directions (chatter.LedgerQuery.Oldest,
-- After and CursorKey), ordered by (received_at, id).
--
-- chatter_messages_received (workspace, received_at DESC, id DESC) already
-- serves an unfiltered listing either way (scanned backward for oldest
-- first). A listing by state (the ledger's state tabs; the oldest waiting
-- message: the waiting states, Oldest, Limit 1) found its rows by
-- (workspace, state) and sorted all of them; with (received_at, id) it reads
-- one state in order from either end, the row-value cursor
-- (received_at, id) seeks into it, and several states sort only the rows
-- they bound. It replaces chatter_messages_state_idx, its prefix.

DROP INDEX {schema}chatter_messages_state_idx;
CREATE INDEX chatter_messages_state_order ON {schema}chatter_messages (workspace, state, received_at, id);
