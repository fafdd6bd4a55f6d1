-- 0002_retry_budget: the retry budget is time (chatter.PipelineConfig.MaxAge)
-- measured from budget_start: received_at for the first round, the Replay
-- for later rounds, moved later by every snooze. max_attempts may now be 0
-- (no cap by count).

ALTER TABLE chatter_messages ADD COLUMN budget_start INTEGER NOT NULL DEFAULT 0; -- Unix nanoseconds (store clock)
UPDATE chatter_messages SET budget_start = received_at;
