-- 0002_shared_worker: the ledger counts attempts per round the way
-- sqlitestore does (internal/deliveryqueue). attempt_base is the number of
-- attempts made before the current round; earlier rounds kept it in the River
-- job's arguments, so a replayed entry still waiting starts a full round.

ALTER TABLE {schema}chatter_messages ADD COLUMN attempt_base integer NOT NULL DEFAULT 0;
UPDATE {schema}chatter_messages SET attempt_base = attempts
WHERE round > 1 AND state IN ('queued', 'delivering', 'failed');
