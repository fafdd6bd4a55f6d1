-- 0006_ledger_search: the ledger's text search and new-lead filter
-- (chatter.LedgerQuery.Text and NewLead).
--
-- text_fold is chatter.FoldText(Message.Text), written with the message:
-- the store folds in Go (lower() depends on the database's locale, and the
-- stores must agree) and matches with strpos(). NULL means "not folded yet":
-- rows saved before this migration (or by an older version) are filled by
-- Migrate in batches after the schema is up to date.
--
-- new_lead is set when the outcome is recorded: true for a delivery that
-- created a lead (chatter.DeliveryResult.NewLead), false for another
-- delivery, NULL while the message is not delivered. A delivered row with
-- NULL is filled by the same batches.

ALTER TABLE {schema}chatter_messages ADD COLUMN text_fold text;
ALTER TABLE {schema}chatter_messages ADD COLUMN new_lead boolean;

-- Leads created per hour: CountEntries with NewLead over a ReceivedAt window.
CREATE INDEX chatter_messages_new_lead ON {schema}chatter_messages (workspace, received_at) WHERE new_lead;
-- The rows the backfill still has to fill; empty once it is done.
CREATE INDEX chatter_messages_unfolded ON {schema}chatter_messages (id)
    WHERE text_fold IS NULL OR (state = 'delivered' AND new_lead IS NULL);
