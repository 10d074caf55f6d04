-- upload schema v1. Portable SQL: runs on SQLite and PostgreSQL.
-- Times are Unix nanoseconds (BIGINT, 0 = unset); hashes are lower-case hex.
CREATE TABLE upload_uploads (
    id               VARCHAR(64)   PRIMARY KEY,
    owner            VARCHAR(128)  NOT NULL,
    owner_name       VARCHAR(256)  NOT NULL DEFAULT '',
    name             VARCHAR(1024) NOT NULL,
    media_type       VARCHAR(128)  NOT NULL,
    size             BIGINT        NOT NULL,
    sha256           CHAR(64)      NOT NULL,
    storage_key      VARCHAR(512)  NOT NULL,
    temp             VARCHAR(128)  NOT NULL DEFAULT '',
    meta             TEXT          NOT NULL DEFAULT '{}',
    state            VARCHAR(16)   NOT NULL,
    progress         INTEGER       NOT NULL DEFAULT 0,
    message          TEXT          NOT NULL DEFAULT '',
    result           TEXT          NOT NULL DEFAULT '',
    attempts         INTEGER       NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN       NOT NULL DEFAULT FALSE,
    run_at           BIGINT        NOT NULL,
    lease_owner      VARCHAR(128)  NOT NULL DEFAULT '',
    lease_until      BIGINT        NOT NULL DEFAULT 0,
    created_at       BIGINT        NOT NULL,
    updated_at       BIGINT        NOT NULL
);
CREATE INDEX upload_uploads_due ON upload_uploads (state, run_at);
CREATE INDEX upload_uploads_created ON upload_uploads (created_at, id);
CREATE INDEX upload_uploads_key ON upload_uploads (storage_key);

CREATE TABLE upload_sessions (
    id         VARCHAR(64)   PRIMARY KEY,
    owner      VARCHAR(128)  NOT NULL,
    owner_name VARCHAR(256)  NOT NULL DEFAULT '',
    name       VARCHAR(1024) NOT NULL,
    media_type VARCHAR(128)  NOT NULL,
    length     BIGINT        NOT NULL,
    received   BIGINT        NOT NULL DEFAULT 0,
    temp       VARCHAR(128)  NOT NULL,
    hash_state TEXT          NOT NULL DEFAULT '',
    meta       TEXT          NOT NULL DEFAULT '{}',
    created_at BIGINT        NOT NULL,
    expires_at BIGINT        NOT NULL
);
CREATE INDEX upload_sessions_expires ON upload_sessions (expires_at);
