-- auth schema v3: pending self-service password resets, stored as the
-- SHA-256 of their token (lower-case hex), one live reset per user.
CREATE TABLE auth_password_resets (
    token_hash CHAR(64)    PRIMARY KEY,
    user_id    VARCHAR(64) NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL
);
CREATE INDEX auth_password_resets_user ON auth_password_resets (user_id)
