// Package sqlmigrate applies the embedded, numbered SQL migrations of
// finkit's SQL stores (auth/sqlstore, portfolio/sqlstore,
// securechat/sqlstore). Each store keeps its own bookkeeping table
// (auth_schema_migrations, …) so that several stores can share one database
// file without stepping on each other.
//
// It depends only on database/sql; the driver is the caller's choice. It is
// internal: the stores use it, users of finkit do not.
package sqlmigrate
