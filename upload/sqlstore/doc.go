// Package sqlstore is an upload.Store on database/sql: SQLite by default
// (through any driver; the apps use modernc.org/sqlite), with SQL kept
// portable to PostgreSQL. Its schema migrations are embedded and applied by
// New. Writes run in write transactions (BEGIN IMMEDIATE on SQLite, row
// locks on PostgreSQL, where Claim skips rows another worker has locked),
// so several processes can share one database: a job is leased to one
// worker at a time.
//
//	db, _ := sql.Open("sqlite", "file:data/finkit.db?_pragma=busy_timeout(5000)")
//	store, err := sqlstore.New(ctx, db, sqlstore.Options{})
//	m, err := upload.New(ctx, upload.Options{Store: store, ...})
package sqlstore
