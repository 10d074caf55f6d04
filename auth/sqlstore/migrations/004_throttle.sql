-- auth schema v4: throttling state shared by every instance on the
-- database (auth.ThrottleStore). A key is stored as the SHA-256 of its
-- text (lower-case hex): keys hold client addresses and typed usernames,
-- which may be long or contain bytes PostgreSQL text refuses. Times are
-- Unix nanoseconds, 0 for none.
CREATE TABLE auth_throttle (
    scope          VARCHAR(16)      NOT NULL,
    key_hash       CHAR(64)         NOT NULL,
    tokens         DOUBLE PRECISION NOT NULL,
    tokens_at      BIGINT           NOT NULL,
    strikes        INTEGER          NOT NULL,
    until_at       BIGINT           NOT NULL,
    next_slow      BIGINT           NOT NULL,
    inflight       INTEGER          NOT NULL,
    inflight_until BIGINT           NOT NULL,
    last_seen      BIGINT           NOT NULL,
    expires_at     BIGINT           NOT NULL,
    PRIMARY KEY (scope, key_hash)
);
CREATE INDEX auth_throttle_expires ON auth_throttle (expires_at);
