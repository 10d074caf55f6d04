package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/securechat"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options configures a Store.
type Options struct {
	// BlobType is the column type for binary data: "BLOB" (default, SQLite,
	// MySQL) or "BYTEA" (PostgreSQL, the default when Postgres is set).
	BlobType string
	// Postgres selects PostgreSQL: $1, $2, … placeholders, BYTEA columns
	// and row locks. The default is SQLite.
	Postgres bool
}

// Store is a securechat.Store on *sql.DB. It is safe for concurrent use.
// The statements of the mailbox reads and deletes (pending, ack, purge) are
// prepared once in New: parsing SQL dominated the relay's CPU time per
// message. Close releases them. Writes that read first (enqueue, prekeys)
// run in transactions that hold the write lock from their first statement
// (on SQLite a connection in BEGIN IMMEDIATE, where the statements run as
// text; their cost is the commit, not the parse).
type Store struct {
	db      *sql.DB
	dialect sqlmigrate.Dialect
	writer  *sqlmigrate.Writer
	sql     [numStmts]string // stmtSQL for the dialect
	stmts   [numStmts]*sql.Stmt
	closed  atomic.Bool
}

// Prepared statements, indexes into Store.stmts.
const (
	stmtBumpSeq = iota
	stmtCount
	stmtInsertMsg
	stmtAddSender
	stmtAddTotal
	stmtAck
	stmtSubSender
	stmtSubTotal
	stmtPurge
	stmtTakeToken
	stmtPending // the statements from here on are prepared
	stmtSenderUsage
	stmtUsage
	stmtPeekPrekeys
	stmtAckPostgres
	numStmts
)

var stmtSQL = [numStmts]string{
	// One statement creates or bumps the counter, so two first messages to
	// a new mailbox cannot both insert it (PostgreSQL would fail one).
	stmtBumpSeq: `INSERT INTO chat_mailbox_seq (recipient, next_seq) VALUES (?, 1)
ON CONFLICT (recipient) DO UPDATE SET next_seq = chat_mailbox_seq.next_seq + 1 RETURNING next_seq`,
	stmtCount:     `SELECT COUNT(*) FROM chat_mailbox WHERE recipient = ?`,
	stmtInsertMsg: `INSERT INTO chat_mailbox (recipient, seq, sender, envelope, received_at, expires_at, size) VALUES (?, ?, ?, ?, ?, ?, ?)`,
	// The quota checks: each adds the envelope to its counter only within
	// the quota (no row changed: over it), and holds the counter's row lock
	// on PostgreSQL until the transaction ends, so racing appends queue.
	stmtAddSender: `INSERT INTO chat_usage (sender, envelopes, bytes) VALUES (?, 1, ?)
ON CONFLICT (sender) DO UPDATE SET envelopes = chat_usage.envelopes + 1, bytes = chat_usage.bytes + excluded.bytes
WHERE chat_usage.bytes + excluded.bytes <= ?`,
	stmtAddTotal:  `UPDATE chat_usage_total SET envelopes = envelopes + 1, bytes = bytes + ? WHERE id = 1 AND bytes + ? <= ?`,
	stmtAck:       `DELETE FROM chat_mailbox WHERE recipient = ? AND seq = ? RETURNING sender, size`,
	stmtSubSender: `UPDATE chat_usage SET envelopes = envelopes - ?, bytes = bytes - ? WHERE sender = ?`,
	stmtSubTotal:  `UPDATE chat_usage_total SET envelopes = envelopes - ?, bytes = bytes - ? WHERE id = 1`,
	stmtPurge:     `DELETE FROM chat_mailbox WHERE expires_at <> 0 AND expires_at < ? RETURNING sender, size`,
	// One token bucket step (securechat's generic cell rate rule): a new
	// bucket is full, so its first take succeeds; otherwise the bucket's
	// full_at moves one interval on from max(full_at, now) unless that is
	// more than burst intervals ahead (no row changed: no token).
	stmtTakeToken: `INSERT INTO chat_token_buckets (bucket, full_at) VALUES (?, ?)
ON CONFLICT (bucket) DO UPDATE SET full_at = CASE WHEN chat_token_buckets.full_at > ? THEN chat_token_buckets.full_at ELSE ? END + ?
WHERE CASE WHEN chat_token_buckets.full_at > ? THEN chat_token_buckets.full_at ELSE ? END + ? <= ?`,
	stmtPending: `SELECT seq, sender, envelope, received_at, expires_at FROM chat_mailbox
WHERE recipient = ? AND seq > ? AND (expires_at = 0 OR expires_at >= ?) ORDER BY seq LIMIT ?`,
	stmtSenderUsage: `SELECT envelopes, bytes FROM chat_usage WHERE sender = ?`,
	stmtUsage:       `SELECT envelopes, bytes FROM chat_usage_total WHERE id = 1`,
	stmtPeekPrekeys: `SELECT signed, (SELECT COUNT(*) FROM chat_one_time_prekeys WHERE peer = ?) FROM chat_prekeys WHERE peer = ?`,
	// Ack on PostgreSQL: the delete and both counter updates in one
	// statement (one round trip, its own transaction). Each step takes the
	// rows of the one before (RETURNING), so an entry acked twice at once
	// is counted off once, and the rows are locked in Enqueue's order
	// (the sender's counter, then the total) without deadlock.
	stmtAckPostgres: `WITH gone AS (DELETE FROM chat_mailbox WHERE recipient = ? AND seq = ? RETURNING sender, size),
sub AS (UPDATE chat_usage SET envelopes = chat_usage.envelopes - 1, bytes = chat_usage.bytes - gone.size
	FROM gone WHERE chat_usage.sender = gone.sender RETURNING gone.size)
UPDATE chat_usage_total SET envelopes = chat_usage_total.envelopes - 1, bytes = chat_usage_total.bytes - sub.size
FROM sub WHERE chat_usage_total.id = 1`,
}

// Close releases the prepared statements; later calls fail with
// securechat.ErrClosed.
// It does not close the database.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, st := range s.stmts {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

var _ securechat.Store = (*Store)(nil)

// New applies any pending migrations and returns the store.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil database", securechat.ErrMalformed)
	}
	blob, d := opts.BlobType, sqlmigrate.SQLite
	if opts.Postgres {
		d = sqlmigrate.Postgres
	}
	if blob == "" {
		blob = map[sqlmigrate.Dialect]string{sqlmigrate.SQLite: "BLOB", sqlmigrate.Postgres: "BYTEA"}[d]
	}
	if blob != "BLOB" && blob != "BYTEA" {
		return nil, fmt.Errorf("%w: blob type %q (want BLOB or BYTEA)", securechat.ErrMalformed, blob)
	}
	if err := migrate(ctx, db, blob, d); err != nil {
		return nil, err
	}
	st := &Store{db: db, dialect: d, writer: sqlmigrate.NewWriter(db, d)}
	for i, q := range stmtSQL {
		st.sql[i] = d.Rebind(q)
		if i < stmtPending || (i == stmtAckPostgres && d != sqlmigrate.Postgres) {
			continue // run as text inside a write transaction, or not on this database
		}
		var err error
		if st.stmts[i], err = db.PrepareContext(ctx, st.sql[i]); err != nil {
			st.Close()
			return nil, fmt.Errorf("sqlstore: prepare: %w", err)
		}
	}
	return st, nil
}

func migrate(ctx context.Context, db *sql.DB, blob string, d sqlmigrate.Dialect) error {
	return sqlmigrate.Apply(ctx, db, migrationFS, sqlmigrate.Options{
		Dir:     "migrations",
		Table:   "chat_schema_migrations",
		Expand:  func(stmt string) string { return strings.ReplaceAll(stmt, "{{BLOB}}", blob) },
		Dialect: d,
	})
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Enqueue implements securechat.Store. In one transaction it takes the
// mailbox's next sequence number, checks the mailbox limit, appends, and
// adds the envelope to its sender's and the total usage counters within
// their quotas; over a bound it rolls back.
func (s *Store) Enqueue(ctx context.Context, recipient securechat.PeerID, env securechat.StoredEnvelope, lim securechat.EnqueueLimits) (uint64, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	size := int64(len(env.Envelope))
	senderQuota, totalQuota := quota(lim.SenderBytes), quota(lim.TotalBytes)
	if size > senderQuota || size > totalQuota {
		return 0, fmt.Errorf("%w: an envelope of %d bytes", securechat.ErrQuotaExceeded, size)
	}
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: enqueue: %w", err)
	}
	defer tx.Rollback()
	// The counter update also locks the mailbox's counter row on
	// PostgreSQL, so the count below is stable.
	var seq int64
	if err := tx.QueryRowContext(ctx, s.sql[stmtBumpSeq], string(recipient)).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlstore: enqueue: %w", err)
	}
	if lim.Mailbox > 0 {
		var count int
		if err := tx.QueryRowContext(ctx, s.sql[stmtCount], string(recipient)).Scan(&count); err != nil {
			return 0, fmt.Errorf("sqlstore: enqueue: %w", err)
		}
		if count >= lim.Mailbox {
			return 0, fmt.Errorf("%w: %s holds %d messages", securechat.ErrMailboxFull, recipient, count)
		}
	}
	if _, err := tx.ExecContext(ctx, s.sql[stmtInsertMsg],
		string(recipient), seq, string(env.Sender), env.Envelope, unixNano(env.Received), unixNano(env.Expires), size); err != nil {
		return 0, fmt.Errorf("sqlstore: enqueue: %w", err)
	}
	// The counters last: the total's row is every writer's, so its lock is
	// held only from here to the commit.
	if ok, err := changed(tx.ExecContext(ctx, s.sql[stmtAddSender], string(env.Sender), size, senderQuota)); err != nil {
		return 0, fmt.Errorf("sqlstore: enqueue: %w", err)
	} else if !ok {
		return 0, fmt.Errorf("%w: the sender's envelopes waiting for delivery are at their quota", securechat.ErrQuotaExceeded)
	}
	if ok, err := changed(tx.ExecContext(ctx, s.sql[stmtAddTotal], size, size, totalQuota)); err != nil {
		return 0, fmt.Errorf("sqlstore: enqueue: %w", err)
	} else if !ok {
		return 0, fmt.Errorf("%w: the relay holds its limit of undelivered envelopes", securechat.ErrQuotaExceeded)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlstore: enqueue: %w", err)
	}
	return uint64(seq), nil
}

// quota is q, or the largest int64 for an unbounded (non-positive) q.
func quota(q int64) int64 {
	if q <= 0 {
		return math.MaxInt64
	}
	return q
}

// changed reports whether the statement whose result is res changed a row.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Pending implements securechat.Store.
func (s *Store) Pending(ctx context.Context, recipient securechat.PeerID, after uint64, limit int, now time.Time) ([]securechat.StoredEnvelope, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.stmts[stmtPending].QueryContext(ctx,
		string(recipient), int64(after), now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending: %w", err)
	}
	defer rows.Close()
	var out []securechat.StoredEnvelope
	for rows.Next() {
		var e securechat.StoredEnvelope
		var seq, rec, exp int64
		var sender string
		if err := rows.Scan(&seq, &sender, &e.Envelope, &rec, &exp); err != nil {
			return nil, fmt.Errorf("sqlstore: pending: %w", err)
		}
		e.Seq, e.Sender, e.Received, e.Expires = uint64(seq), securechat.PeerID(sender), fromUnixNano(rec), fromUnixNano(exp)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: pending: %w", err)
	}
	return out, nil
}

// Ack implements securechat.Store: the entry is deleted and taken off its
// sender's and the total usage counters in one transaction.
func (s *Store) Ack(ctx context.Context, recipient securechat.PeerID, seq uint64) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	var err error
	if s.dialect == sqlmigrate.Postgres {
		_, err = s.stmts[stmtAckPostgres].ExecContext(ctx, string(recipient), int64(seq))
	} else {
		_, err = s.deleteCounted(ctx, s.sql[stmtAck], string(recipient), int64(seq))
	}
	if err != nil {
		return fmt.Errorf("sqlstore: ack: %w", err)
	}
	return nil
}

// PurgeExpired implements securechat.Store. It also deletes the token
// buckets that are full again (they carry nothing) and the usage counters
// of senders with nothing stored.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	n, err := s.deleteCounted(ctx, s.sql[stmtPurge], now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.dialect.Rebind(s.idleRows("chat_token_buckets", "bucket", "full_at <= ?")), now.UnixNano()); err != nil {
		return n, fmt.Errorf("sqlstore: purge token buckets: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.idleRows("chat_usage", "sender", "envelopes <= 0")); err != nil {
		return n, fmt.Errorf("sqlstore: purge usage: %w", err)
	}
	return n, nil
}

// idleRows is the DELETE of table's rows where cond holds (key is the
// table's key). On PostgreSQL it skips the rows another transaction has
// locked, which are in use and not idle: a DELETE of many rows waits for
// each locked one in the order it finds them, and so could close a cycle
// with writers that lock a counter row and then the next (Enqueue holds a
// sender's row and waits for the total's, whose holder waits for a
// sender's row the DELETE took: deadlock 40P01). SQLite has one writer.
func (s *Store) idleRows(table, key, cond string) string {
	if s.dialect != sqlmigrate.Postgres {
		return "DELETE FROM " + table + " WHERE " + cond
	}
	return "WITH idle AS (SELECT " + key + " FROM " + table + " WHERE " + cond + " FOR UPDATE SKIP LOCKED) " +
		"DELETE FROM " + table + " t USING idle WHERE t." + key + " = idle." + key
}

// deleteCounted runs a DELETE … RETURNING sender, size of mailbox entries
// and takes what it deleted off the usage counters, in one transaction
// (senders' rows in sorted order, then the total, as Enqueue locks them).
func (s *Store) deleteCounted(ctx context.Context, del string, args ...any) (int, error) {
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, del, args...)
	if err != nil {
		return 0, err
	}
	gone := map[string]securechat.StorageUsage{}
	var total securechat.StorageUsage
	for rows.Next() {
		var sender string
		var size int64
		if err := rows.Scan(&sender, &size); err != nil {
			rows.Close()
			return 0, err
		}
		u := gone[sender]
		u.Envelopes++
		u.Bytes += size
		gone[sender] = u
		total.Envelopes++
		total.Bytes += size
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if total.Envelopes == 0 {
		return 0, tx.Commit()
	}
	for _, sender := range slices.Sorted(maps.Keys(gone)) {
		u := gone[sender]
		if _, err := tx.ExecContext(ctx, s.sql[stmtSubSender], u.Envelopes, u.Bytes, sender); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, s.sql[stmtSubTotal], total.Envelopes, total.Bytes); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return int(total.Envelopes), nil
}

// SenderUsage implements securechat.Store (one counter row).
func (s *Store) SenderUsage(ctx context.Context, sender securechat.PeerID) (securechat.StorageUsage, error) {
	return s.usage(ctx, stmtSenderUsage, string(sender))
}

// Usage implements securechat.Store.
func (s *Store) Usage(ctx context.Context) (securechat.StorageUsage, error) {
	return s.usage(ctx, stmtUsage)
}

func (s *Store) usage(ctx context.Context, stmt int, args ...any) (securechat.StorageUsage, error) {
	if s.closed.Load() {
		return securechat.StorageUsage{}, fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	var u securechat.StorageUsage
	err := s.stmts[stmt].QueryRowContext(ctx, args...).Scan(&u.Envelopes, &u.Bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return securechat.StorageUsage{}, nil // a sender with nothing stored
	}
	if err != nil {
		return securechat.StorageUsage{}, fmt.Errorf("sqlstore: usage: %w", err)
	}
	return u, nil
}

// PutPrekeys implements securechat.Store.
func (s *Store) PutPrekeys(ctx context.Context, peer securechat.PeerID, signed []byte, oneTime []securechat.StoredPrekey) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: put prekeys: %w", err)
	}
	defer tx.Rollback()
	maxID := int64(-1)
	for _, k := range oneTime {
		maxID = max(maxID, int64(k.ID))
	}
	now := time.Now().UnixNano()
	// One upsert creates or updates the peer's row (and locks it on
	// PostgreSQL), so two first publications cannot both insert it.
	if _, err := tx.ExecContext(ctx, s.dialect.Rebind(`INSERT INTO chat_prekeys (peer, signed, max_one_time_id, updated_at) VALUES (?, ?, -1, ?)
ON CONFLICT (peer) DO UPDATE SET signed = excluded.signed, updated_at = excluded.updated_at`), string(peer), signed, now); err != nil {
		return fmt.Errorf("sqlstore: put prekeys: %w", err)
	}
	var prevMax int64
	if err := tx.QueryRowContext(ctx, s.dialect.Rebind(`SELECT max_one_time_id FROM chat_prekeys WHERE peer = ?`), string(peer)).Scan(&prevMax); err != nil {
		return fmt.Errorf("sqlstore: put prekeys: %w", err)
	}
	var stored int
	if err := tx.QueryRowContext(ctx, s.dialect.Rebind(`SELECT COUNT(*) FROM chat_one_time_prekeys WHERE peer = ?`), string(peer)).Scan(&stored); err != nil {
		return fmt.Errorf("sqlstore: put prekeys: %w", err)
	}
	for _, k := range oneTime {
		if int64(k.ID) <= prevMax {
			continue // handed out or stored before: never again
		}
		if stored >= securechat.MaxOneTimePrekeys {
			break // bounded per peer; the ids still count as seen
		}
		stored++
		if _, err := tx.ExecContext(ctx, s.dialect.Rebind(`INSERT INTO chat_one_time_prekeys (peer, key_id, public_key) VALUES (?, ?, ?)`), string(peer), int64(k.ID), k.Public); err != nil {
			return fmt.Errorf("sqlstore: put prekeys: %w", err)
		}
	}
	if maxID > prevMax {
		if _, err := tx.ExecContext(ctx, s.dialect.Rebind(`UPDATE chat_prekeys SET max_one_time_id = ? WHERE peer = ?`), maxID, string(peer)); err != nil {
			return fmt.Errorf("sqlstore: put prekeys: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: put prekeys: %w", err)
	}
	return nil
}

// TakeBundle implements securechat.Store.
func (s *Store) TakeBundle(ctx context.Context, peer securechat.PeerID) ([]byte, *securechat.StoredPrekey, error) {
	if s.closed.Load() {
		return nil, nil, fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	for range 5 {
		signed, otk, err := s.takeOnce(ctx, peer)
		if errors.Is(err, errRace) {
			continue
		}
		return signed, otk, err
	}
	return nil, nil, fmt.Errorf("sqlstore: take bundle for %s: too much contention", peer)
}

var errRace = errors.New("sqlstore: one-time prekey taken concurrently")

func (s *Store) takeOnce(ctx context.Context, peer securechat.PeerID) ([]byte, *securechat.StoredPrekey, error) {
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: take bundle: %w", err)
	}
	defer tx.Rollback()
	// The transaction holds SQLite's write lock; on PostgreSQL the peer's
	// row is locked, so takers of one peer queue. The guarded DELETE below
	// keeps two concurrent takers from both winning on any database.
	var signed []byte
	if err := tx.QueryRowContext(ctx, s.dialect.Rebind(`SELECT signed FROM chat_prekeys WHERE peer = ?`)+s.dialect.ForUpdate(), string(peer)).Scan(&signed); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, fmt.Errorf("%w: no prekeys for %s", securechat.ErrNotFound, peer)
		}
		return nil, nil, fmt.Errorf("sqlstore: take bundle: %w", err)
	}
	var id int64
	var pub []byte
	err = tx.QueryRowContext(ctx, s.dialect.Rebind(`SELECT key_id, public_key FROM chat_one_time_prekeys WHERE peer = ? ORDER BY key_id LIMIT 1`), string(peer)).Scan(&id, &pub)
	if errors.Is(err, sql.ErrNoRows) {
		return signed, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: take bundle: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.dialect.Rebind(`DELETE FROM chat_one_time_prekeys WHERE peer = ? AND key_id = ?`), string(peer), id)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: take bundle: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: take bundle: %w", err)
	} else if n != 1 {
		return nil, nil, errRace
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: take bundle: %w", err)
	}
	return signed, &securechat.StoredPrekey{ID: uint32(id), Public: pub}, nil
}

// PeekPrekeys implements securechat.Store.
func (s *Store) PeekPrekeys(ctx context.Context, peer securechat.PeerID) ([]byte, int, error) {
	if s.closed.Load() {
		return nil, 0, fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	// One query (the relay peeks at every send's recipient).
	var signed []byte
	var n int
	err := s.stmts[stmtPeekPrekeys].QueryRowContext(ctx, string(peer), string(peer)).Scan(&signed, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("%w: no prekeys for %s", securechat.ErrNotFound, peer)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: peek prekeys: %w", err)
	}
	return signed, n, nil
}

// TakeToken implements securechat.Store in one statement (an upsert whose
// update applies only when the bucket has a token), on the bucket's row
// lock on PostgreSQL and in a write transaction on SQLite.
func (s *Store) TakeToken(ctx context.Context, bucket string, interval time.Duration, burst int, now time.Time) (bool, error) {
	if s.closed.Load() {
		return false, fmt.Errorf("sqlstore: %w", securechat.ErrClosed)
	}
	if err := securechat.CheckBucket(bucket, interval, burst); err != nil {
		return false, err
	}
	n, step := now.UnixNano(), int64(interval)
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlstore: take token: %w", err)
	}
	defer tx.Rollback()
	ok, err := changed(tx.ExecContext(ctx, s.sql[stmtTakeToken], bucket, n+step, n, n, step, n, n, step, n+step*int64(burst)))
	if err != nil {
		return false, fmt.Errorf("sqlstore: take token: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlstore: take token: %w", err)
	}
	return ok, nil
}
