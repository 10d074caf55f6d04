package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/upload"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Dialect selects the SQL database.
type Dialect int

// Supported dialects.
const (
	SQLite   Dialect = iota // ? placeholders, one writer at a time
	Postgres                // $n placeholders, row locks
)

// Options configure a Store.
type Options struct {
	Dialect Dialect // default SQLite
}

// Store is an upload.Store on a *sql.DB.
type Store struct {
	db     *sql.DB
	d      sqlmigrate.Dialect
	writer *sqlmigrate.Writer
}

var _ upload.Store = (*Store)(nil)

// New applies the migrations and returns the store.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	s := &Store{db: db}
	switch opts.Dialect {
	case SQLite:
		s.d = sqlmigrate.SQLite
	case Postgres:
		s.d = sqlmigrate.Postgres
	default:
		return nil, fmt.Errorf("sqlstore: unknown dialect %d", opts.Dialect)
	}
	s.writer = sqlmigrate.NewWriter(db, s.d)
	if err := sqlmigrate.Apply(ctx, db, migrationsFS, sqlmigrate.Options{Dir: "migrations", Table: "upload_schema_migrations", Dialect: s.d}); err != nil {
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return s, nil
}

func (s *Store) q(query string) string { return s.d.Rebind(query) }

// inTx runs f in a write transaction and commits it.
func (s *Store) inTx(ctx context.Context, f func(tx *sqlmigrate.Tx) error) error {
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func metaJSON(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("sqlstore: meta: %w", err)
	}
	return string(b), nil
}

func parseMeta(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("sqlstore: meta: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

const uploadColumns = `id, owner, owner_name, name, media_type, size, sha256, storage_key, temp, meta, state, progress,
	message, result, attempts, cancel_requested, run_at, lease_owner, lease_until, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanUpload(r scanner) (upload.Upload, error) {
	var u upload.Upload
	var meta, state string
	var runAt, leaseUntil, created, updated int64
	if err := r.Scan(&u.ID, &u.Owner, &u.OwnerName, &u.Name, &u.Type, &u.Size, &u.SHA256, &u.Key, &u.Temp, &meta, &state,
		&u.Progress, &u.Message, &u.Result, &u.Attempts, &u.CancelRequested, &runAt, &u.LeaseOwner, &leaseUntil, &created, &updated); err != nil {
		return upload.Upload{}, err
	}
	var err error
	if u.Meta, err = parseMeta(meta); err != nil {
		return upload.Upload{}, err
	}
	u.State = upload.State(state)
	u.RunAt, u.LeaseUntil, u.Created, u.Updated = fromNanos(runAt), fromNanos(leaseUntil), fromNanos(created), fromNanos(updated)
	return u, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) get(ctx context.Context, q querier, id string, lock bool) (upload.Upload, error) {
	query := s.q(`SELECT ` + uploadColumns + ` FROM upload_uploads WHERE id = ?`)
	if lock {
		query += s.d.ForUpdate()
	}
	u, err := scanUpload(q.QueryRowContext(ctx, query, id))
	if errors.Is(err, sql.ErrNoRows) {
		return upload.Upload{}, fmt.Errorf("%w: upload %s", upload.ErrNotFound, id)
	}
	if err != nil {
		return upload.Upload{}, fmt.Errorf("sqlstore: get upload: %w", err)
	}
	return u, nil
}

func (s *Store) exists(ctx context.Context, q querier, table, id string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM `+table+` WHERE id = ?`), id).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlstore: %w", err)
	}
	return n > 0, nil
}

// Create implements upload.Store.
func (s *Store) Create(ctx context.Context, ups ...upload.Upload) error {
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		if err := tx.LockTables(ctx, "upload_uploads"); err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
		for i, u := range ups {
			taken, err := s.exists(ctx, tx, "upload_uploads", u.ID)
			if err != nil {
				return err
			}
			for _, o := range ups[:i] {
				taken = taken || o.ID == u.ID
			}
			if taken {
				return fmt.Errorf("%w: upload %s exists", upload.ErrConflict, u.ID)
			}
			if err := s.insert(ctx, tx, u); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) insert(ctx context.Context, tx *sqlmigrate.Tx, u upload.Upload) error {
	meta, err := metaJSON(u.Meta)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO upload_uploads (`+uploadColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.Owner, u.OwnerName, u.Name, u.Type, u.Size, u.SHA256, u.Key, u.Temp, meta, string(u.State), u.Progress,
		u.Message, u.Result, u.Attempts, u.CancelRequested, nanos(u.RunAt), u.LeaseOwner, nanos(u.LeaseUntil), nanos(u.Created), nanos(u.Updated))
	if err != nil {
		return fmt.Errorf("sqlstore: insert upload: %w", err)
	}
	return nil
}

// Get implements upload.Store.
func (s *Store) Get(ctx context.Context, id string) (upload.Upload, error) {
	return s.get(ctx, s.db, id, false)
}

// List implements upload.Store.
func (s *Store) List(ctx context.Context, opts upload.ListOptions) ([]upload.Upload, error) {
	query := `SELECT ` + uploadColumns + ` FROM upload_uploads`
	var args []any
	if opts.Before != "" {
		var created int64
		err := s.db.QueryRowContext(ctx, s.q(`SELECT created_at FROM upload_uploads WHERE id = ?`), opts.Before).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: upload %s", upload.ErrNotFound, opts.Before)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list: %w", err)
		}
		query += ` WHERE created_at < ? OR (created_at = ? AND id < ?)`
		args = append(args, created, created, opts.Before)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, upload.ListLimit(opts.Limit))
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	defer rows.Close()
	var out []upload.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	return out, nil
}

// Claim implements upload.Store.
func (s *Store) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (upload.Upload, error) {
	var out upload.Upload
	err := s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		query := s.q(`SELECT id FROM upload_uploads
			WHERE (state = 'queued' AND run_at <= ?) OR (state = 'processing' AND lease_until < ?)
			ORDER BY run_at, created_at, id LIMIT 1`)
		if s.d == sqlmigrate.Postgres {
			query += " FOR UPDATE SKIP LOCKED"
		}
		var id string
		err := tx.QueryRowContext(ctx, query, nanos(now), nanos(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no job is due", upload.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: claim: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE upload_uploads SET state = 'processing', lease_owner = ?, lease_until = ?,
			attempts = attempts + 1, updated_at = ? WHERE id = ?`), worker, nanos(now.Add(lease)), nanos(now), id); err != nil {
			return fmt.Errorf("sqlstore: claim: %w", err)
		}
		out, err = s.get(ctx, tx, id, false)
		return err
	})
	return out, err
}

// leasedUpdate runs an UPDATE guarded by worker's lease; no row changed
// means the lease is lost.
func (s *Store) leasedUpdate(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, set string, id, worker string, args ...any) error {
	args = append(args, id, worker)
	res, err := q.ExecContext(ctx, s.q(`UPDATE upload_uploads SET `+set+` WHERE id = ? AND state = 'processing' AND lease_owner = ?`), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: update job: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("%w: %s", upload.ErrLeaseLost, id)
	}
	return nil
}

// Renew implements upload.Store.
func (s *Store) Renew(ctx context.Context, id, worker string, until time.Time, progress int, message string) (upload.Upload, error) {
	var out upload.Upload
	err := s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		if err := s.leasedUpdate(ctx, tx, `lease_until = ?, progress = ?, message = ?, updated_at = ?`, id, worker,
			nanos(until), min(max(progress, 0), 100), message, time.Now().UnixNano()); err != nil {
			return err
		}
		var err error
		out, err = s.get(ctx, tx, id, false)
		return err
	})
	return out, err
}

// MarkStored implements upload.Store.
func (s *Store) MarkStored(ctx context.Context, id, worker string) error {
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		return s.leasedUpdate(ctx, tx, `temp = '', updated_at = ?`, id, worker, time.Now().UnixNano())
	})
}

// Finish implements upload.Store.
func (s *Store) Finish(ctx context.Context, id, worker string, f upload.Finish) error {
	if !f.State.Terminal() {
		return fmt.Errorf("%w: finish with state %q", upload.ErrBadRequest, f.State)
	}
	progress := "progress"
	if f.State == upload.StateDone {
		progress = "100"
	}
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		return s.leasedUpdate(ctx, tx, `state = ?, message = ?, result = ?, progress = `+progress+`, lease_owner = '', lease_until = 0, updated_at = ?`,
			id, worker, string(f.State), f.Message, f.Result, time.Now().UnixNano())
	})
}

// Release implements upload.Store.
func (s *Store) Release(ctx context.Context, id, worker string, runAt time.Time, message string, refund bool) error {
	attempts := "attempts"
	if refund {
		attempts = "CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"
	}
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		return s.leasedUpdate(ctx, tx, `state = 'queued', run_at = ?, message = ?, attempts = `+attempts+`, lease_owner = '', lease_until = 0, updated_at = ?`,
			id, worker, nanos(runAt), message, time.Now().UnixNano())
	})
}

// RequestCancel implements upload.Store.
func (s *Store) RequestCancel(ctx context.Context, id string) (upload.Upload, error) {
	var out upload.Upload
	err := s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		u, err := s.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if u.State.Terminal() {
			return fmt.Errorf("%w: the job has ended (%s)", upload.ErrConflict, u.State)
		}
		now := time.Now()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE upload_uploads SET cancel_requested = ?, updated_at = ? WHERE id = ?`), true, now.UnixNano(), id); err != nil {
			return fmt.Errorf("sqlstore: cancel: %w", err)
		}
		u.CancelRequested, u.Updated = true, fromNanos(now.UnixNano())
		out = u
		return nil
	})
	return out, err
}

// Delete implements upload.Store. It holds the uploads table's write lock
// (as Create and CompleteSession do), so its count of the other uploads of
// the key cannot miss one being created.
func (s *Store) Delete(ctx context.Context, id string, until time.Time) (upload.Upload, int, error) {
	var out upload.Upload
	var others int
	err := s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		if err := tx.LockTables(ctx, "upload_uploads", "upload_deletions"); err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
		u, err := s.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !u.State.Terminal() {
			return fmt.Errorf("%w: the job is %s; cancel it first", upload.ErrConflict, u.State)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM upload_uploads WHERE id = ?`), id); err != nil {
			return fmt.Errorf("sqlstore: delete: %w", err)
		}
		if others, err = s.refs(ctx, tx, u.Key); err != nil {
			return err
		}
		if others == 0 {
			if err := s.lease(ctx, tx, u.Key, until); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	return out, others, err
}

func (s *Store) refs(ctx context.Context, q querier, key string) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM upload_uploads WHERE storage_key = ?`), key).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count uploads of a key: %w", err)
	}
	return n, nil
}

// lease sets key's deletion lease to until.
func (s *Store) lease(ctx context.Context, tx *sqlmigrate.Tx, key string, until time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM upload_deletions WHERE storage_key = ?`), key); err != nil {
		return fmt.Errorf("sqlstore: deletion lease: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO upload_deletions (storage_key, until_ns) VALUES (?, ?)`), key, nanos(until)); err != nil {
		return fmt.Errorf("sqlstore: deletion lease: %w", err)
	}
	return nil
}

// Deleting implements upload.Store.
func (s *Store) Deleting(ctx context.Context, key string, now time.Time) (bool, error) {
	var until int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT until_ns FROM upload_deletions WHERE storage_key = ?`), key).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: deletion lease: %w", err)
	}
	return until > nanos(now), nil
}

// ObjectDeleted implements upload.Store.
func (s *Store) ObjectDeleted(ctx context.Context, key string, until time.Time) error {
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM upload_deletions WHERE storage_key = ? AND until_ns = ?`), key, nanos(until)); err != nil {
			return fmt.Errorf("sqlstore: end deletion lease: %w", err)
		}
		return nil
	})
}

// ExpiredDeletions implements upload.Store.
func (s *Store) ExpiredDeletions(ctx context.Context, now, until time.Time) ([]string, error) {
	var out []string
	err := s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		out = nil
		if err := tx.LockTables(ctx, "upload_uploads", "upload_deletions"); err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
		keys, err := s.expiredKeys(ctx, tx, now)
		if err != nil {
			return err
		}
		for _, key := range keys {
			n, err := s.refs(ctx, tx, key)
			if err != nil {
				return err
			}
			if n > 0 {
				if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM upload_deletions WHERE storage_key = ?`), key); err != nil {
					return fmt.Errorf("sqlstore: expired deletions: %w", err)
				}
				continue
			}
			if err := s.lease(ctx, tx, key, until); err != nil {
				return err
			}
			out = append(out, key)
		}
		return nil
	})
	return out, err
}

func (s *Store) expiredKeys(ctx context.Context, tx *sqlmigrate.Tx, now time.Time) ([]string, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT storage_key FROM upload_deletions WHERE until_ns <= ? ORDER BY storage_key`), nanos(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: expired deletions: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlstore: expired deletions: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// Pending implements upload.Store.
func (s *Store) Pending(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM upload_uploads WHERE state IN ('queued', 'processing')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: pending: %w", err)
	}
	return n, nil
}

// TempNames implements upload.Store.
func (s *Store) TempNames(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT temp FROM upload_uploads WHERE temp <> '' UNION ALL SELECT temp FROM upload_sessions`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: temp names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlstore: temp names: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

const sessionColumns = `id, owner, owner_name, name, media_type, length, received, temp, hash_state, meta, created_at, expires_at`

func scanSession(r scanner) (upload.Session, error) {
	var x upload.Session
	var hashState, meta string
	var created, expires int64
	if err := r.Scan(&x.ID, &x.Owner, &x.OwnerName, &x.Name, &x.Type, &x.Length, &x.Offset, &x.Temp, &hashState, &meta, &created, &expires); err != nil {
		return upload.Session{}, err
	}
	var err error
	if x.HashState, err = hex.DecodeString(hashState); err != nil {
		return upload.Session{}, fmt.Errorf("sqlstore: hash state: %w", err)
	}
	if x.Meta, err = parseMeta(meta); err != nil {
		return upload.Session{}, err
	}
	x.Created, x.Expires = fromNanos(created), fromNanos(expires)
	return x, nil
}

// CreateSession implements upload.Store.
func (s *Store) CreateSession(ctx context.Context, x upload.Session) error {
	meta, err := metaJSON(x.Meta)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		if err := tx.LockTables(ctx, "upload_sessions", "upload_uploads"); err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
		for _, table := range []string{"upload_sessions", "upload_uploads"} {
			taken, err := s.exists(ctx, tx, table, x.ID)
			if err != nil {
				return err
			}
			if taken {
				return fmt.Errorf("%w: id %s exists", upload.ErrConflict, x.ID)
			}
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO upload_sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			x.ID, x.Owner, x.OwnerName, x.Name, x.Type, x.Length, x.Offset, x.Temp, hex.EncodeToString(x.HashState), meta, nanos(x.Created), nanos(x.Expires))
		if err != nil {
			return fmt.Errorf("sqlstore: create session: %w", err)
		}
		return nil
	})
}

// GetSession implements upload.Store.
func (s *Store) GetSession(ctx context.Context, id string) (upload.Session, error) {
	x, err := scanSession(s.db.QueryRowContext(ctx, s.q(`SELECT `+sessionColumns+` FROM upload_sessions WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return upload.Session{}, fmt.Errorf("%w: session %s", upload.ErrNotFound, id)
	}
	if err != nil {
		return upload.Session{}, fmt.Errorf("sqlstore: get session: %w", err)
	}
	return x, nil
}

// AdvanceSession implements upload.Store.
func (s *Store) AdvanceSession(ctx context.Context, id string, from, to int64, hashState []byte) error {
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE upload_sessions SET received = ?, hash_state = ?
			WHERE id = ? AND received = ? AND ? >= received AND ? <= length`), to, hex.EncodeToString(hashState), id, from, to, to)
		if err != nil {
			return fmt.Errorf("sqlstore: advance session: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
		ok, err := s.exists(ctx, tx, "upload_sessions", id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: session %s", upload.ErrNotFound, id)
		}
		return fmt.Errorf("%w: session %s is not at offset %d", upload.ErrConflict, id, from)
	})
}

// DeleteSession implements upload.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM upload_sessions WHERE id = ?`), id); err != nil {
			return fmt.Errorf("sqlstore: delete session: %w", err)
		}
		return nil
	})
}

// ExpiredSessions implements upload.Store.
func (s *Store) ExpiredSessions(ctx context.Context, now time.Time) ([]upload.Session, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+sessionColumns+` FROM upload_sessions WHERE expires_at < ?`), nanos(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: expired sessions: %w", err)
	}
	defer rows.Close()
	var out []upload.Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: expired sessions: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// CompleteSession implements upload.Store.
func (s *Store) CompleteSession(ctx context.Context, u upload.Upload) error {
	return s.inTx(ctx, func(tx *sqlmigrate.Tx) error {
		if err := tx.LockTables(ctx, "upload_sessions", "upload_uploads"); err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM upload_sessions WHERE id = ?`), u.ID)
		if err != nil {
			return fmt.Errorf("sqlstore: complete session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("%w: session %s", upload.ErrNotFound, u.ID)
		}
		if taken, err := s.exists(ctx, tx, "upload_uploads", u.ID); err != nil || taken {
			if err == nil {
				err = fmt.Errorf("%w: upload %s exists", upload.ErrConflict, u.ID)
			}
			return err
		}
		return s.insert(ctx, tx, u)
	})
}
