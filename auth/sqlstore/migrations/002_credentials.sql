-- auth schema v2: a credential version per user, recorded on every session
-- and compared on every validation, and when and how a session last
-- authenticated (for re-authentication before sensitive changes).
ALTER TABLE auth_users ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auth_sessions ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auth_sessions ADD COLUMN authenticated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auth_sessions ADD COLUMN auth_method VARCHAR(32) NOT NULL DEFAULT ''
