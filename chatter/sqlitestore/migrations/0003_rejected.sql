-- 0003_rejected: messages refused at intake are kept on the ledger in state
-- 'rejected' with why (JSON chatter.Rejection: field, reason in ru/en, the
-- source's key when it was unusable, the bounded raw input).

ALTER TABLE chatter_messages ADD COLUMN rejection TEXT;
