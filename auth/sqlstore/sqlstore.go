package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/internal/sqlmigrate"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Dialect selects the placeholder style of the database.
type Dialect int

// The supported dialects.
const (
	// SQLite uses ? placeholders (also MySQL-style drivers).
	SQLite Dialect = iota
	// Postgres uses $1, $2, … placeholders.
	Postgres
)

// Options configure a Store.
type Options struct {
	// Dialect defaults to SQLite.
	Dialect Dialect
}

// Store is an auth.Store on a *sql.DB. It is safe for concurrent use.
// Close releases its prepared statements; the *sql.DB stays the caller's.
type Store struct {
	db      *sql.DB
	dialect Dialect
	writer  *sqlmigrate.Writer

	sessionByToken *sql.Stmt
	touchSession   *sql.Stmt
	userByName     *sql.Stmt
}

var _ auth.Store = (*Store)(nil)

// New migrates db to the current auth schema and returns a Store on it.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if opts.Dialect != SQLite && opts.Dialect != Postgres {
		return nil, fmt.Errorf("sqlstore: unknown dialect %d", opts.Dialect)
	}
	s := &Store{db: db, dialect: opts.Dialect}
	s.writer = sqlmigrate.NewWriter(db, s.sqlDialect())
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, s.rebind(q))
		return st
	}
	s.sessionByToken = prep(`SELECT s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent, ` +
		`s.credential_version, s.authenticated_at, s.auth_method, ` +
		userColumns("u") + ` FROM auth_sessions s JOIN auth_users u ON u.id = s.user_id WHERE s.token_hash = ?`)
	s.touchSession = prep(`UPDATE auth_sessions SET last_seen_at = ? WHERE token_hash = ?`)
	s.userByName = prep(`SELECT ` + userColumns("auth_users") + ` FROM auth_users WHERE lower(username) = lower(?)`)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: prepare: %w", err)
	}
	return s, nil
}

// Close releases the prepared statements.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.sessionByToken, s.touchSession, s.userByName} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// rebind rewrites ? placeholders to $n for PostgreSQL. The queries in this
// package contain no ? inside string literals.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	return sqlmigrate.DollarPlaceholders(q)
}

func (s *Store) migrate(ctx context.Context) error {
	return sqlmigrate.Apply(ctx, s.db, migrationsFS, sqlmigrate.Options{Dir: "migrations", Table: "auth_schema_migrations", Dialect: s.sqlDialect()})
}

func (s *Store) sqlDialect() sqlmigrate.Dialect {
	if s.dialect == Postgres {
		return sqlmigrate.Postgres
	}
	return sqlmigrate.SQLite
}

// begin starts a write transaction that holds the write lock from its
// first statement (see sqlmigrate.BeginWrite): on SQLite a transaction that
// read first could not wait for the lock and would fail with "database is
// locked".
func (s *Store) begin(ctx context.Context) (*sqlmigrate.Tx, error) {
	return s.writer.Begin(ctx)
}

// SchemaVersion returns the highest applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return sqlmigrate.Version(ctx, s.db, "auth_schema_migrations")
}

func toDB(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromDB(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func userColumns(alias string) string {
	cols := []string{"id", "username", "email", "role", "disabled", "password_hash", "created_at", "updated_at", "credential_version"}
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

type scanner interface{ Scan(dest ...any) error }

// userDest returns scan destinations for userColumns and a function that
// finishes the User.
func userDest(u *auth.User) ([]any, func()) {
	var role string
	var created, updated int64
	return []any{&u.ID, &u.Username, &u.Email, &role, &u.Disabled, &u.PasswordHash, &created, &updated, &u.CredentialVersion}, func() {
		u.Role = auth.Role(role)
		u.CreatedAt, u.UpdatedAt = fromDB(created), fromDB(updated)
	}
}

func scanUser(row scanner) (auth.User, error) {
	var u auth.User
	dest, finish := userDest(&u)
	if err := row.Scan(dest...); err != nil {
		return auth.User{}, err
	}
	finish()
	return u, nil
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, auth.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}

// CreateUser implements auth.UserStore. A duplicate username (any case)
// gives auth.ErrUsernameTaken, decided by the unique index.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	if u.ID == "" || u.Username == "" {
		return errors.New("sqlstore: create user: empty ID or username")
	}
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO auth_users
		(id, username, email, role, disabled, password_hash, created_at, updated_at, credential_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.Username, u.Email, string(u.Role), u.Disabled, u.PasswordHash, toDB(u.CreatedAt), toDB(u.UpdatedAt), u.CredentialVersion)
	if err == nil {
		return nil
	}
	// The driver's constraint error is driver-specific; ask the database
	// whether the name now exists instead.
	var n int
	if qerr := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM auth_users WHERE lower(username) = lower(?)`), u.Username).Scan(&n); qerr == nil && n > 0 {
		return fmt.Errorf("create user %q: %w", u.Username, auth.ErrUsernameTaken)
	}
	return fmt.Errorf("sqlstore: create user: %w", err)
}

// User implements auth.UserStore.
func (s *Store) User(ctx context.Context, id string) (auth.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.rebind(`SELECT `+userColumns("auth_users")+` FROM auth_users WHERE id = ?`), id))
	if err != nil {
		return auth.User{}, notFound(err, "user "+strconv.Quote(id))
	}
	return u, nil
}

// UserByUsername implements auth.UserStore.
func (s *Store) UserByUsername(ctx context.Context, username string) (auth.User, error) {
	u, err := scanUser(s.userByName.QueryRowContext(ctx, username))
	if err != nil {
		return auth.User{}, notFound(err, "user "+strconv.Quote(username))
	}
	return u, nil
}

// Users implements auth.UserStore.
func (s *Store) Users(ctx context.Context) ([]auth.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns("auth_users")+` FROM auth_users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list users: %w", err)
	}
	defer rows.Close()
	var out []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list users: %w", err)
	}
	return out, nil
}

// UpdateUser implements auth.UserStore in one transaction whose first
// statement is the update, so it holds the write lock from the start.
func (s *Store) UpdateUser(ctx context.Context, id string, ch auth.UserChange) (auth.User, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: update user: %w", err)
	}
	defer tx.Rollback()
	u, err := s.updateUserTx(ctx, tx, id, ch)
	if err != nil {
		return auth.User{}, err
	}
	if err := tx.Commit(); err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: update user: %w", err)
	}
	return u, nil
}

// updateUserTx applies ch to user id within tx and returns the user.
func (s *Store) updateUserTx(ctx context.Context, tx *sqlmigrate.Tx, id string, ch auth.UserChange) (auth.User, error) {
	sets := []string{"id = id"}
	var args []any
	add := func(set string, arg any) { sets, args = append(sets, set), append(args, arg) }
	if ch.Email != nil {
		add("email = ?", *ch.Email)
	}
	if ch.Role != nil {
		add("role = ?", string(*ch.Role))
	}
	if ch.Disabled != nil {
		add("disabled = ?", *ch.Disabled)
	}
	if ch.PasswordHash != nil {
		add("password_hash = ?", *ch.PasswordHash)
	}
	if !ch.UpdatedAt.IsZero() {
		add("updated_at = ?", toDB(ch.UpdatedAt))
	}
	if ch.NewCredentials {
		sets = append(sets, "credential_version = credential_version + 1")
	}
	wasAdmin := false
	if ch.KeepAdmin {
		var err error
		if wasAdmin, err = s.lockAdmins(ctx, tx, id); err != nil {
			return auth.User{}, err
		}
	}
	where := ` WHERE id = ?`
	args = append(args, id)
	if ch.IfPasswordHash != nil {
		where += ` AND password_hash = ?`
		args = append(args, *ch.IfPasswordHash)
	}
	n, err := affected(tx.ExecContext(ctx, s.rebind(`UPDATE auth_users SET `+strings.Join(sets, ", ")+where), args...))
	if err != nil {
		return auth.User{}, fmt.Errorf("update user: %w", err)
	}
	if n == 0 {
		if err := s.userExists(ctx, tx, id); err != nil {
			return auth.User{}, fmt.Errorf("update user: %w", err)
		}
		return auth.User{}, fmt.Errorf("update user %q: password hash: %w", id, auth.ErrConflict)
	}
	if wasAdmin {
		if err := s.checkAdminLeft(ctx, tx); err != nil {
			return auth.User{}, fmt.Errorf("update user %q: %w", id, err)
		}
	}
	if ch.NewCredentials {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM auth_password_resets WHERE user_id = ?`), id); err != nil {
			return auth.User{}, fmt.Errorf("sqlstore: update user: end password resets: %w", err)
		}
	}
	if ch.EndSessions {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM auth_sessions WHERE user_id = ?`), id); err != nil {
			return auth.User{}, fmt.Errorf("sqlstore: update user: end sessions: %w", err)
		}
	}
	u, err := scanUser(tx.QueryRowContext(ctx, s.rebind(`SELECT `+userColumns("auth_users")+` FROM auth_users WHERE id = ?`), id))
	if err != nil {
		return auth.User{}, notFound(err, "update user "+strconv.Quote(id))
	}
	return u, nil
}

func (s *Store) userExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) error {
	var n int
	if err := q.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM auth_users WHERE id = ?`), id).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: user exists: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("user %q: %w", id, auth.ErrNotFound)
	}
	return nil
}

// lockAdmins locks the rows of the enabled admins until tx ends, so that
// of two transactions each demoting one of them, the second waits and
// then counts what the first left (PostgreSQL re-reads locked rows; on
// SQLite tx holds the database's write lock already). It reports whether
// user id is one of them.
func (s *Store) lockAdmins(ctx context.Context, tx *sqlmigrate.Tx, id string) (bool, error) {
	if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE auth_users SET role = role WHERE role = ? AND NOT disabled`), string(auth.RoleAdmin)); err != nil {
		return false, fmt.Errorf("sqlstore: lock admins: %w", err)
	}
	var n int
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM auth_users WHERE id = ? AND role = ? AND NOT disabled`), id, string(auth.RoleAdmin)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlstore: lock admins: %w", err)
	}
	return n > 0, nil
}

// checkAdminLeft returns auth.ErrLastAdmin if tx leaves no enabled admin.
func (s *Store) checkAdminLeft(ctx context.Context, tx *sqlmigrate.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM auth_users WHERE role = ? AND NOT disabled`), string(auth.RoleAdmin)).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: count admins: %w", err)
	}
	if n == 0 {
		return auth.ErrLastAdmin
	}
	return nil
}

// lockUser checks in tx that the user exists and, on PostgreSQL, locks its
// row until tx ends, so writers of one user's rows queue (on SQLite tx holds
// the database's write lock already).
func (s *Store) lockUser(ctx context.Context, tx *sqlmigrate.Tx, id string) error {
	var got string
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT id FROM auth_users WHERE id = ?`)+s.sqlDialect().ForUpdate(), id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("user %q: %w", id, auth.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: lock user: %w", err)
	}
	return nil
}

// CreateSession implements auth.SessionStore.
func (s *Store) CreateSession(ctx context.Context, ss auth.Session) error {
	if len(ss.TokenHash) != 32 || ss.ID == "" {
		return errors.New("sqlstore: create session: want a 32-byte token hash and an ID")
	}
	if err := s.userExists(ctx, s.db, ss.UserID); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO auth_sessions
		(token_hash, id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, credential_version, authenticated_at, auth_method)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		hex.EncodeToString(ss.TokenHash), ss.ID, ss.UserID, toDB(ss.CreatedAt), toDB(ss.LastSeenAt), toDB(ss.ExpiresAt), ss.IP, ss.UserAgent,
		ss.CredentialVersion, toDB(ss.AuthenticatedAt), string(ss.AuthMethod))
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	return nil
}

const sessionColumns = `id, token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, credential_version, authenticated_at, auth_method`

func scanSession(row scanner) (auth.Session, error) {
	var ss auth.Session
	var th, method string
	var created, seen, expires, authAt int64
	if err := row.Scan(&ss.ID, &th, &ss.UserID, &created, &seen, &expires, &ss.IP, &ss.UserAgent, &ss.CredentialVersion, &authAt, &method); err != nil {
		return auth.Session{}, err
	}
	ss.AuthenticatedAt, ss.AuthMethod = fromDB(authAt), auth.AuthMethod(method)
	h, err := hex.DecodeString(th)
	if err != nil {
		return auth.Session{}, fmt.Errorf("bad token hash: %w", err)
	}
	ss.TokenHash = h
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromDB(created), fromDB(seen), fromDB(expires)
	return ss, nil
}

// SessionByToken implements auth.SessionStore with one joined query.
func (s *Store) SessionByToken(ctx context.Context, tokenHash []byte) (auth.Session, auth.User, error) {
	var ss auth.Session
	var u auth.User
	var created, seen, expires, authAt int64
	var method string
	udest, finish := userDest(&u)
	dest := append([]any{&ss.ID, &ss.UserID, &created, &seen, &expires, &ss.IP, &ss.UserAgent, &ss.CredentialVersion, &authAt, &method}, udest...)
	if err := s.sessionByToken.QueryRowContext(ctx, hex.EncodeToString(tokenHash)).Scan(dest...); err != nil {
		return auth.Session{}, auth.User{}, notFound(err, "session")
	}
	finish()
	ss.TokenHash = append([]byte(nil), tokenHash...)
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromDB(created), fromDB(seen), fromDB(expires)
	ss.AuthenticatedAt, ss.AuthMethod = fromDB(authAt), auth.AuthMethod(method)
	return ss, u, nil
}

// affected returns the rows an Exec changed.
func affected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %w", err)
	}
	return int(n), nil
}

// TouchSession implements auth.SessionStore.
func (s *Store) TouchSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	n, err := affected(s.touchSession.ExecContext(ctx, toDB(at), hex.EncodeToString(tokenHash)))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("touch session: %w", auth.ErrNotFound)
	}
	return nil
}

// Sessions implements auth.SessionStore.
func (s *Store) Sessions(ctx context.Context, userID string) ([]auth.Session, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+sessionColumns+` FROM auth_sessions WHERE user_id = ? ORDER BY created_at DESC, id`), userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list sessions: %w", err)
	}
	defer rows.Close()
	out := []auth.Session{}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list sessions: %w", err)
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list sessions: %w", err)
	}
	return out, nil
}

// DeleteSession implements auth.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	n, err := affected(s.db.ExecContext(ctx, s.rebind(`DELETE FROM auth_sessions WHERE token_hash = ?`), hex.EncodeToString(tokenHash)))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("delete session: %w", auth.ErrNotFound)
	}
	return nil
}

// DeleteSessionByID implements auth.SessionStore.
func (s *Store) DeleteSessionByID(ctx context.Context, userID, id string) error {
	n, err := affected(s.db.ExecContext(ctx, s.rebind(`DELETE FROM auth_sessions WHERE user_id = ? AND id = ?`), userID, id))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("delete session %q: %w", id, auth.ErrNotFound)
	}
	return nil
}

// DeleteUserSessions implements auth.SessionStore.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	return affected(s.db.ExecContext(ctx, s.rebind(`DELETE FROM auth_sessions WHERE user_id = ?`), userID))
}

// DeleteExpiredSessions implements auth.SessionStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	return affected(s.db.ExecContext(ctx, s.rebind(`DELETE FROM auth_sessions WHERE expires_at < ? OR last_seen_at < ?`),
		toDB(now), toDB(idleBefore)))
}

// TOTP implements auth.TOTPStore.
func (s *Store) TOTP(ctx context.Context, userID string) (auth.TOTPState, error) {
	st := auth.TOTPState{UserID: userID}
	var secret string
	var updated int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT secret, confirmed, last_step, updated_at FROM auth_totp WHERE user_id = ?`), userID).
		Scan(&secret, &st.Confirmed, &st.LastStep, &updated)
	if err != nil {
		return auth.TOTPState{}, notFound(err, "totp")
	}
	if st.Secret, err = hex.DecodeString(secret); err != nil {
		return auth.TOTPState{}, fmt.Errorf("sqlstore: totp secret: %w", err)
	}
	st.UpdatedAt = fromDB(updated)
	return st, nil
}

// PutTOTP implements auth.TOTPStore.
func (s *Store) PutTOTP(ctx context.Context, st auth.TOTPState) error {
	if err := s.userExists(ctx, s.db, st.UserID); err != nil {
		return fmt.Errorf("put totp: %w", err)
	}
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO auth_totp (user_id, secret, confirmed, last_step, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = excluded.confirmed,
			last_step = excluded.last_step, updated_at = excluded.updated_at`),
		st.UserID, hex.EncodeToString(st.Secret), st.Confirmed, st.LastStep, toDB(st.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put totp: %w", err)
	}
	return nil
}

// ConfirmTOTP implements auth.TOTPStore in one transaction that starts
// with the conditional update, so it holds the write lock from the start.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, secret []byte, step int64, recoveryHashes [][]byte, at time.Time) (auth.User, error) {
	if err := checkCodeHashes(recoveryHashes); err != nil {
		return auth.User{}, err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: confirm totp: %w", err)
	}
	defer tx.Rollback()
	n, err := affected(tx.ExecContext(ctx, s.rebind(`UPDATE auth_totp SET confirmed = ?, last_step = ?, updated_at = ?
		WHERE user_id = ? AND confirmed = ? AND secret = ?`), true, step, toDB(at), userID, false, hex.EncodeToString(secret)))
	if err != nil {
		return auth.User{}, fmt.Errorf("confirm totp: %w", err)
	}
	if n == 0 {
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM auth_totp WHERE user_id = ?`), userID).Scan(&one)
		if err != nil {
			return auth.User{}, notFound(err, "confirm totp")
		}
		return auth.User{}, fmt.Errorf("confirm totp for %q: %w", userID, auth.ErrConflict)
	}
	if err := s.replaceCodesTx(ctx, tx, userID, recoveryHashes); err != nil {
		return auth.User{}, err
	}
	u, err := s.updateUserTx(ctx, tx, userID, auth.UserChange{NewCredentials: true, EndSessions: true, UpdatedAt: at})
	if err != nil {
		return auth.User{}, err
	}
	if err := tx.Commit(); err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: confirm totp: %w", err)
	}
	return u, nil
}

// RemoveTOTP implements auth.TOTPStore in one transaction.
func (s *Store) RemoveTOTP(ctx context.Context, userID string, at time.Time) (auth.User, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: remove totp: %w", err)
	}
	defer tx.Rollback()
	u, err := s.updateUserTx(ctx, tx, userID, auth.UserChange{NewCredentials: true, EndSessions: true, UpdatedAt: at})
	if err != nil {
		return auth.User{}, err
	}
	for _, q := range []string{`DELETE FROM auth_recovery_codes WHERE user_id = ?`, `DELETE FROM auth_totp WHERE user_id = ?`} {
		if _, err := tx.ExecContext(ctx, s.rebind(q), userID); err != nil {
			return auth.User{}, fmt.Errorf("sqlstore: remove totp: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: remove totp: %w", err)
	}
	return u, nil
}

// AdvanceTOTPStep implements auth.TOTPStore with one conditional update,
// so two concurrent uses of one code cannot both succeed.
func (s *Store) AdvanceTOTPStep(ctx context.Context, userID string, step int64) error {
	n, err := affected(s.db.ExecContext(ctx, s.rebind(`UPDATE auth_totp SET last_step = ? WHERE user_id = ? AND last_step < ?`), step, userID, step))
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := s.TOTP(ctx, userID); err != nil {
		return err
	}
	return fmt.Errorf("totp step %d: %w", step, auth.ErrCodeReused)
}

// ReplaceRecoveryCodes implements auth.TOTPStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	if err := checkCodeHashes(hashes); err != nil {
		return err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: recovery codes: %w", err)
	}
	defer tx.Rollback()
	if err := s.lockUser(ctx, tx, userID); err != nil {
		return fmt.Errorf("recovery codes: %w", err)
	}
	if err := s.replaceCodesTx(ctx, tx, userID, hashes); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: recovery codes: %w", err)
	}
	return nil
}

func checkCodeHashes(hashes [][]byte) error {
	for _, h := range hashes {
		if len(h) != 32 {
			return errors.New("sqlstore: recovery code hash must be 32 bytes")
		}
	}
	return nil
}

// replaceCodesTx replaces the user's recovery code hashes within tx.
func (s *Store) replaceCodesTx(ctx context.Context, tx *sqlmigrate.Tx, userID string, hashes [][]byte) error {
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM auth_recovery_codes WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("sqlstore: recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO auth_recovery_codes (user_id, code_hash) VALUES (?, ?)`), userID, hex.EncodeToString(h)); err != nil {
			return fmt.Errorf("sqlstore: recovery codes: %w", err)
		}
	}
	return nil
}

// UseRecoveryCode implements auth.TOTPStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	n, err := affected(s.db.ExecContext(ctx, s.rebind(`DELETE FROM auth_recovery_codes WHERE user_id = ? AND code_hash = ?`), userID, hex.EncodeToString(hash)))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("recovery code: %w", auth.ErrNotFound)
	}
	return nil
}

// RecoveryCodesLeft implements auth.TOTPStore.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM auth_recovery_codes WHERE user_id = ?`), userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: recovery codes left: %w", err)
	}
	return n, nil
}
