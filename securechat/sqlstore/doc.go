// Package sqlstore keeps a securechat relay's mailboxes and published
// prekeys in a SQL database through database/sql, implementing
// securechat.Store. It lets a relay restart without losing undelivered
// messages.
//
// The store creates its own tables, all prefixed chat_ (chat_mailbox,
// chat_mailbox_seq, chat_prekeys, chat_one_time_prekeys), and records
// applied schema migrations in chat_schema_migrations, so it can share one
// database with other finkit stores. The migrations are embedded in the
// binary and applied by New.
//
// It only imports database/sql: the caller opens the database with a driver
// of its choice. With SQLite (modernc.org/sqlite, driver name "sqlite") open
// it as
//
//	file:PATH?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)
//
// The SQL is portable (no SQLite-only syntax; per-recipient sequence numbers
// come from a counter table updated inside the transaction, one-time prekeys
// are taken with a guarded DELETE) with two caveats: queries use ?
// placeholders, so PostgreSQL needs a driver or wrapper that rebinds them,
// and binary columns use Options.BlobType (BLOB by default; set "BYTEA" on
// PostgreSQL).
//
// The store holds only what the relay sees: opaque envelopes, peer ids,
// times and public prekeys. Nothing in it can decrypt a message.
package sqlstore
