-- The chat directory: which public identity each dashboard account has
-- published (public keys only; private keys never leave the browser).
CREATE TABLE dashboard_chat_identities (
    user_id         TEXT PRIMARY KEY,
    peer_id         TEXT NOT NULL UNIQUE,
    public_identity TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);
