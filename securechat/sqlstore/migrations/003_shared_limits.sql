-- What the mailboxes hold per sender and in all, kept by every transaction
-- that adds or removes envelopes: the relay's quotas are checked against
-- these rows in the transaction that appends (their row locks on
-- PostgreSQL), so the check and the append are one step for all relays
-- sharing the database.
CREATE TABLE chat_usage (
    sender    VARCHAR(64) NOT NULL PRIMARY KEY,
    envelopes BIGINT      NOT NULL,
    bytes     BIGINT      NOT NULL
);
INSERT INTO chat_usage (sender, envelopes, bytes)
    SELECT sender, COUNT(*), SUM(size) FROM chat_mailbox GROUP BY sender;
CREATE TABLE chat_usage_total (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    envelopes BIGINT  NOT NULL,
    bytes     BIGINT  NOT NULL
);
INSERT INTO chat_usage_total (id, envelopes, bytes)
    SELECT 1, COUNT(*), COALESCE(SUM(size), 0) FROM chat_mailbox;
-- Token buckets shared by the relays (securechat.Store.TakeToken): the time
-- (Unix nanoseconds) at which each is full again.
CREATE TABLE chat_token_buckets (
    bucket  VARCHAR(128) NOT NULL PRIMARY KEY,
    full_at BIGINT       NOT NULL
);
CREATE INDEX chat_token_buckets_full ON chat_token_buckets (full_at);
