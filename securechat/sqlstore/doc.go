// Package sqlstore keeps a securechat relay's mailboxes and published
// prekeys in a SQL database through database/sql, implementing
// securechat.Store. It lets a relay restart without losing undelivered
// messages.
//
// The store creates its own tables, all prefixed chat_ (chat_mailbox,
// chat_mailbox_seq, chat_prekeys, chat_one_time_prekeys, the usage
// counters chat_usage and chat_usage_total, chat_token_buckets), and records
// applied schema migrations in chat_schema_migrations, so it can share one
// database with other finkit stores. The migrations are embedded in the
// binary and applied by New.
//
// It only imports database/sql: the caller opens the database with a driver
// of its choice. With SQLite (modernc.org/sqlite, driver name "sqlite") open
// it as
//
//	file:PATH?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)
//
// (New switches the file to WAL once; a journal_mode pragma in the
// connection string makes concurrent first starts fail). Writes wait for
// the write lock instead of failing: every write transaction takes it
// before its first statement (BEGIN IMMEDIATE on SQLite), so set
// busy_timeout.
//
// The SQL is portable (per-recipient sequence numbers come from a counter
// row created or bumped by one upsert inside the transaction, one-time
// prekeys are taken under a row lock with a guarded DELETE). Set
// Options.Postgres for PostgreSQL: $1 placeholders, BYTEA columns and
// SELECT … FOR UPDATE.
//
// Relays of several instances may share one database: the counter row
// orders each mailbox across them (a later sequence number commits
// later), a one-time prekey is handed out once whichever relay takes it,
// and package pgnotify wakes the relay holding a recipient's connection.
// The quotas and token buckets are shared too: Enqueue adds each envelope
// to its sender's and the total usage counter rows within the quotas, in
// the transaction that appends it (acks and the purge take it off again),
// and TakeToken is one upsert of the bucket's row. On PostgreSQL the
// counter rows' locks order racing writers, so the checks hold in total;
// the total's row is every writer's, so appends and acks queue on it for
// the moment between their update and their commit.
//
// The store holds only what the relay sees: opaque envelopes, peer ids,
// times and public prekeys. Nothing in it can decrypt a message.
package sqlstore
