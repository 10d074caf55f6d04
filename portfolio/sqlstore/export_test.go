package sqlstore

// WithTableLocks returns a copy of s whose Update locks the transactions'
// and accounts' tables on PostgreSQL (LOCK TABLE … IN SHARE ROW EXCLUSIVE
// MODE), as the store did before each book had a lock of its own: the
// baseline of BenchmarkOwnerWriters.
func WithTableLocks(s *Store) *Store {
	c := *s
	c.tableLock = true
	return &c
}

// BookLockKey is the PostgreSQL advisory lock key of owner's book.
var BookLockKey = bookLockKey
