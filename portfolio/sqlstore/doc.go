// Package sqlstore is a portfolio.Shelf on database/sql: the books of many
// owners (accounts, instruments and transactions) in tables prefixed
// "portfolio_", so it can share one database file with other finkit stores.
// New returns the default book (owner ""); Store.Book(owner) another
// owner's. Every row carries its owner and every query names one, served by
// an index on (owner, …), so one owner's Store never reads or writes
// another's rows, whatever ids it is given; two owners may both have an
// account "broker".
//
// Migration 0002 gave rows owners. Databases of the example dashboard from
// before kept each user's books under ids prefixed "u.<user id>/": those
// rows move into book "<user id>" with the prefix taken out of their ids,
// the user's paper account "u.<user id>/paper" into book "<user id>/paper",
// and every other row into the default book.
//
// New applies the embedded schema migrations (bookkeeping in
// portfolio_schema_migrations) in transactions and is safe to call on every
// start. Decimals are stored as TEXT in their exact form
// (portfolio.FormatDecimal), never as floating point, so they come back
// bit-exact; times are stored as Unix nanoseconds for ordering plus RFC 3339
// text that keeps the UTC offset.
//
// Writes wait for each other instead of failing with "database is locked":
// SaveAccount and Update take the book's write lock before they read the
// stored ids and accounts they decide on. On SQLite that is the database's
// write lock (BEGIN IMMEDIATE), so one write runs at a time. On PostgreSQL
// it is a transaction-level advisory lock of the owner's book
// (pg_advisory_xact_lock), which readers ignore: writes of one book queue,
// in every process on the database, and writes of different owners run at
// once. Transactions take their sequence numbers from a PostgreSQL
// sequence (migration 0005), so concurrent books never take one number.
// Upgrading from a version that locked the tables, stop its processes
// first: it numbers transactions by MAX(seq) + 1, which can collide with
// the sequence (the write fails, and changes nothing). A restore must
// bring the sequence back with the rows (a dump of the schema or database
// does, a dump of the tables alone does not): behind them, writes fail
// until it is set past them (setval). The book's write runs read
// committed whatever the database's default isolation, so that it sees
// the writes it waited for. New switches a SQLite file to WAL once; do
// not put journal_mode in the connection string.
//
// Each book's revision (portfolio.Store's Revision) is a row of
// portfolio_revisions (migration 0004), bumped inside the transaction of
// every write to the book, so every process on the database reads the
// same revision with one primary-key query: a cache in one instance sees
// the writes of the others and of the CLI at its next check. That query is
// prepared once by New; Close the Store to release it.
//
// The SQL is portable (SQLite and PostgreSQL); queries use "?" placeholders
// unless Options.Placeholder is Dollar ("$1", for PostgreSQL drivers). The
// package imports no driver: open the *sql.DB with one, for example
// modernc.org/sqlite:
//
//	db, err := sql.Open("sqlite", "file:finkit.db?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
//	...
//	shelf, err := sqlstore.New(ctx, db, sqlstore.Options{})
//	...
//	ledger, err := portfolio.LoadLedger(ctx, shelf.Book(userID))
package sqlstore
