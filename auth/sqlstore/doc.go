// Package sqlstore keeps auth's users, sessions and two-factor state in a
// SQL database through database/sql.
//
// New applies the embedded migrations (tables auth_users, auth_sessions,
// auth_totp, auth_recovery_codes, auth_password_resets and auth_throttle,
// with the applied versions in auth_schema_migrations), so the auth tables
// can share one database file with other packages' tables.
//
// A Store is also an auth.ThrottleStore: the Service keeps its login and
// registration throttling in auth_throttle, so that every instance on one
// database counts failed attempts as one. Each update locks the rows of
// its keys (creating missing ones first) in a fixed order, so a burst of
// concurrent attempts on any number of instances is admitted one at a
// time. Changes that must not be
// seen half done — a password change with the end of the user's sessions,
// confirming TOTP with its recovery codes, using a reset link, deleting a
// user — are one transaction each; the last-admin rule locks the admins'
// rows first, so two admins demoting each other at once leave one on
// PostgreSQL as on SQLite. The SQL is portable: it is tested on SQLite
// (modernc.org/sqlite, driver name "sqlite") and written for PostgreSQL
// too; queries are written with ? placeholders and rebound to $1, $2, …
// when Options.Dialect is Postgres. Username uniqueness is enforced by a
// unique index on lower(username), so concurrent registrations of one name
// give exactly one success and one auth.ErrUsernameTaken.
//
// Write transactions take the write lock before their first statement
// (BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL), so concurrent
// writers wait for each other up to busy_timeout instead of failing with
// "database is locked". New switches a SQLite file to WAL once; do not put
// journal_mode in the connection string (concurrent first starts would fail).
//
// The package imports no driver; the application does:
//
//	db, err := sql.Open("sqlite", "file:data/finkit.db?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
//	store, err := sqlstore.New(ctx, db, sqlstore.Options{})
//	defer store.Close()
//	svc, err := auth.New(auth.Options{Store: store})
package sqlstore
