-- 0004_rejected: messages refused at intake are kept on the ledger in state
-- 'rejected' with why (chatter.Rejection: field, reason in ru/en, the
-- source's key when it was unusable, the bounded raw input).

ALTER TABLE {schema}chatter_messages ADD COLUMN rejection json;
ALTER TABLE {schema}chatter_messages DROP CONSTRAINT chatter_messages_state;
ALTER TABLE {schema}chatter_messages ADD CONSTRAINT chatter_messages_state
    CHECK (state IN ('received', 'rejected', 'filtered', 'queued', 'delivering', 'delivered', 'failed', 'dead'));
