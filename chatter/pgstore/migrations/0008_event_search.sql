-- 0008_event_search: the event log's filters by source and by text
-- (chatter.EventQuery.Source and Text).
--
-- text_fold is chatter.FoldText(Event.Text), written with the event, matched
-- with strpos() as the ledger's text_fold is (see 0006). NULL means "not
-- folded yet": events appended before this migration (or by an older
-- version) are filled by Migrate in batches after the schema is up to date.

ALTER TABLE {schema}chatter_events ADD COLUMN text_fold text;

-- A workspace's events from one source, newest first (the log page's source
-- filter, paged by ID).
CREATE INDEX chatter_events_source ON {schema}chatter_events (workspace, source, id DESC);
-- The events the backfill still has to fill; empty once it is done.
CREATE INDEX chatter_events_unfolded ON {schema}chatter_events (id) WHERE text_fold IS NULL;
