-- 0006_ledger_order: listings in both directions (chatter.LedgerQuery.Oldest,
-- After and CursorKey), ordered by (received_at, id).
--
-- chatter_messages_received (workspace, received_at DESC, id DESC) already
-- serves an unfiltered listing either way (read backwards for oldest first).
-- The state index ended in received_at DESC and the implicit rowid ascending,
-- an order neither direction has, so a listing by state (the ledger's
-- state tabs; the oldest waiting message: the waiting states, Oldest,
-- Limit 1) sorted every matching row. With id it reads in order, from
-- either end, and the row-value cursor (received_at, id) seeks into it.

DROP INDEX chatter_messages_state;
CREATE INDEX chatter_messages_state ON chatter_messages (workspace, state, received_at, id);
