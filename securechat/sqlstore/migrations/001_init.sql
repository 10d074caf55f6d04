CREATE TABLE chat_mailbox (
    recipient   VARCHAR(64) NOT NULL,
    seq         BIGINT      NOT NULL,
    sender      VARCHAR(64) NOT NULL,
    envelope    {{BLOB}}    NOT NULL,
    received_at BIGINT      NOT NULL,
    expires_at  BIGINT      NOT NULL,
    PRIMARY KEY (recipient, seq)
);
CREATE INDEX chat_mailbox_expires ON chat_mailbox (expires_at);
CREATE TABLE chat_mailbox_seq (
    recipient VARCHAR(64) NOT NULL PRIMARY KEY,
    next_seq  BIGINT      NOT NULL
);
CREATE TABLE chat_prekeys (
    peer            VARCHAR(64) NOT NULL PRIMARY KEY,
    signed          {{BLOB}}    NOT NULL,
    max_one_time_id BIGINT      NOT NULL,
    updated_at      BIGINT      NOT NULL
);
CREATE TABLE chat_one_time_prekeys (
    peer       VARCHAR(64) NOT NULL,
    key_id     BIGINT      NOT NULL,
    public_key {{BLOB}}    NOT NULL,
    PRIMARY KEY (peer, key_id)
);
