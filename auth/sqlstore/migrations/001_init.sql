-- auth schema v1. Portable SQL: runs on SQLite and PostgreSQL.
-- Times are Unix nanoseconds (BIGINT, 0 = unset); hashes are lower-case hex.
CREATE TABLE auth_users (
    id            VARCHAR(64)  PRIMARY KEY,
    username      VARCHAR(64)  NOT NULL,
    email         VARCHAR(254) NOT NULL DEFAULT '',
    role          VARCHAR(16)  NOT NULL,
    disabled      BOOLEAN      NOT NULL DEFAULT FALSE,
    password_hash VARCHAR(512) NOT NULL,
    created_at    BIGINT       NOT NULL,
    updated_at    BIGINT       NOT NULL
);
CREATE UNIQUE INDEX auth_users_username_lower ON auth_users (lower(username));

CREATE TABLE auth_sessions (
    token_hash   CHAR(64)     PRIMARY KEY,
    id           VARCHAR(64)  NOT NULL UNIQUE,
    user_id      VARCHAR(64)  NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    created_at   BIGINT       NOT NULL,
    last_seen_at BIGINT       NOT NULL,
    expires_at   BIGINT       NOT NULL,
    ip           VARCHAR(64)  NOT NULL DEFAULT '',
    user_agent   VARCHAR(256) NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

CREATE TABLE auth_totp (
    user_id    VARCHAR(64)  PRIMARY KEY REFERENCES auth_users (id) ON DELETE CASCADE,
    secret     VARCHAR(256) NOT NULL,
    confirmed  BOOLEAN      NOT NULL DEFAULT FALSE,
    last_step  BIGINT       NOT NULL DEFAULT 0,
    updated_at BIGINT       NOT NULL
);

CREATE TABLE auth_recovery_codes (
    user_id   VARCHAR(64) NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    code_hash CHAR(64)    NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
