-- upload schema v2: deletion leases of storage keys. A key is leased while
-- the object of its last upload is being deleted; a job storing the same
-- content waits for the lease to end. until_ns is Unix nanoseconds.
CREATE TABLE upload_deletions (
    storage_key VARCHAR(512) PRIMARY KEY,
    until_ns    BIGINT       NOT NULL
);
