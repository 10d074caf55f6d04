-- The size of each stored envelope, and an index by sender, for the
-- relay's per-sender and total storage quotas.
ALTER TABLE chat_mailbox ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE chat_mailbox SET size = LENGTH(envelope);
CREATE INDEX chat_mailbox_sender ON chat_mailbox (sender);
