-- 0005_ledger_search: the ledger's text search and new-lead filter
-- (chatter.LedgerQuery.Text and NewLead).
--
-- text_fold is chatter.FoldText(Message.Text), written with the message:
-- SQLite's lower() and LIKE fold ASCII only, so the store folds in Go and
-- matches with instr(). NULL means "not folded yet": rows saved before this
-- migration (or by an older version) are filled by Migrate in batches after
-- the schema is up to date.
--
-- new_lead is set when the outcome is recorded: 1 for a delivery that
-- created a lead (chatter.DeliveryResult.NewLead), 0 for another delivery,
-- NULL while the message is not delivered. A delivered row with NULL is
-- filled by the same batches.

ALTER TABLE chatter_messages ADD COLUMN text_fold TEXT;
ALTER TABLE chatter_messages ADD COLUMN new_lead INTEGER;

-- Leads created per hour: CountEntries with NewLead over a ReceivedAt window.
CREATE INDEX chatter_messages_new_lead ON chatter_messages (workspace, received_at) WHERE new_lead = 1;
-- The rows the backfill still has to fill; empty once it is done.
CREATE INDEX chatter_messages_unfolded ON chatter_messages (id)
    WHERE text_fold IS NULL OR (state = 'delivered' AND new_lead IS NULL);
