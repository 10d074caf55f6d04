// Package sqlmigrate is what finkit's SQL stores (auth/sqlstore,
// portfolio/sqlstore, securechat/sqlstore, upload/sqlstore) share about the
// database:
//
//   - Apply runs the embedded, numbered SQL migrations. Each store keeps its
//     own bookkeeping table (auth_schema_migrations, …) so that several
//     stores can share one database without stepping on each other; it is
//     safe from several processes at once, on a new database too.
//   - Writer and BeginWrite begin write transactions that hold the write
//     lock from their first statement (BEGIN IMMEDIATE on SQLite), so
//     concurrent writers wait for each other instead of failing with
//     "database is locked"; Dialect.ForUpdate and Tx.LockTables keep the
//     same transactions correct on PostgreSQL.
//   - EnsureWAL and SQLiteDSN are how the apps and tests open SQLite.
//
// It depends only on database/sql; the driver is the caller's choice. It is
// internal: the stores use it, users of finkit do not.
package sqlmigrate
