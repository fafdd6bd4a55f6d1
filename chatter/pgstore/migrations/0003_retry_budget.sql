-- 0003_retry_budget: the retry budget is time (chatter.PipelineConfig.MaxAge)
-- measured from budget_start: received_at for the first round, the Replay
-- for later rounds, moved later by every snooze. max_attempts may now be 0
-- (no cap by count).

ALTER TABLE {schema}chatter_messages ADD COLUMN budget_start timestamptz;
UPDATE {schema}chatter_messages SET budget_start = received_at;
ALTER TABLE {schema}chatter_messages ALTER COLUMN budget_start SET NOT NULL;
ALTER TABLE {schema}chatter_messages DROP CONSTRAINT chatter_messages_max_attempts;
ALTER TABLE {schema}chatter_messages ADD CONSTRAINT chatter_messages_max_attempts CHECK (max_attempts >= 0);
