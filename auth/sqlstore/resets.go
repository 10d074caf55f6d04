package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/finkit/finkit/auth"
)

// DeleteUser implements auth.UserStore in one transaction.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: delete user: %w", err)
	}
	defer tx.Rollback()
	wasAdmin, err := s.lockAdmins(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := s.lockUser(ctx, tx, id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if wasAdmin {
		var others int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM auth_users WHERE role = ? AND NOT disabled AND id <> ?`),
			string(auth.RoleAdmin), id).Scan(&others); err != nil {
			return fmt.Errorf("sqlstore: delete user: %w", err)
		}
		if others == 0 {
			return fmt.Errorf("delete user %q: %w", id, auth.ErrLastAdmin)
		}
	}
	for _, table := range []string{"auth_recovery_codes", "auth_totp", "auth_password_resets", "auth_sessions"} {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM `+table+` WHERE user_id = ?`), id); err != nil {
			return fmt.Errorf("sqlstore: delete user: %s: %w", table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM auth_users WHERE id = ?`), id); err != nil {
		return fmt.Errorf("sqlstore: delete user: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: delete user: %w", err)
	}
	return nil
}

// TrimSessions implements auth.SessionStore.
func (s *Store) TrimSessions(ctx context.Context, userID string, keep int) (int, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: trim sessions: %w", err)
	}
	defer tx.Rollback()
	n, err := affected(tx.ExecContext(ctx, s.rebind(`DELETE FROM auth_sessions WHERE user_id = ? AND token_hash NOT IN
		(SELECT token_hash FROM auth_sessions WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ?)`), userID, userID, max(keep, 0)))
	if err != nil {
		return 0, fmt.Errorf("trim sessions: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlstore: trim sessions: %w", err)
	}
	return n, nil
}

// CreatePasswordReset implements auth.ResetStore.
func (s *Store) CreatePasswordReset(ctx context.Context, r auth.PasswordReset) error {
	if len(r.TokenHash) != 32 {
		return errors.New("sqlstore: password reset: want a 32-byte token hash")
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: password reset: %w", err)
	}
	defer tx.Rollback()
	if err := s.lockUser(ctx, tx, r.UserID); err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM auth_password_resets WHERE user_id = ?`), r.UserID); err != nil {
		return fmt.Errorf("sqlstore: password reset: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO auth_password_resets (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		hex.EncodeToString(r.TokenHash), r.UserID, toDB(r.CreatedAt), toDB(r.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlstore: password reset: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: password reset: %w", err)
	}
	return nil
}

// PasswordReset implements auth.ResetStore.
func (s *Store) PasswordReset(ctx context.Context, tokenHash []byte, now time.Time) (auth.PasswordReset, auth.User, error) {
	r := auth.PasswordReset{TokenHash: append([]byte(nil), tokenHash...)}
	var u auth.User
	var created, expires int64
	udest, finish := userDest(&u)
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT r.user_id, r.created_at, r.expires_at, `+userColumns("u")+`
		FROM auth_password_resets r JOIN auth_users u ON u.id = r.user_id WHERE r.token_hash = ? AND r.expires_at > ?`),
		hex.EncodeToString(tokenHash), toDB(now)).Scan(append([]any{&r.UserID, &created, &expires}, udest...)...)
	if err != nil {
		return auth.PasswordReset{}, auth.User{}, notFound(err, "password reset")
	}
	finish()
	r.CreatedAt, r.ExpiresAt = fromDB(created), fromDB(expires)
	return r, u, nil
}

// UsePasswordReset implements auth.ResetStore in one transaction: the
// reset row is locked (PostgreSQL) or the database is (SQLite), so of two
// concurrent uses the second finds it gone.
func (s *Store) UsePasswordReset(ctx context.Context, tokenHash []byte, now time.Time, ch auth.UserChange) (auth.User, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: use password reset: %w", err)
	}
	defer tx.Rollback()
	var userID string
	err = tx.QueryRowContext(ctx, s.rebind(`SELECT user_id FROM auth_password_resets WHERE token_hash = ? AND expires_at > ?`)+
		s.sqlDialect().ForUpdate(), hex.EncodeToString(tokenHash), toDB(now)).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, fmt.Errorf("password reset: %w", auth.ErrNotFound)
	}
	if err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: use password reset: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM auth_password_resets WHERE user_id = ?`), userID); err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: use password reset: %w", err)
	}
	u, err := s.updateUserTx(ctx, tx, userID, ch)
	if err != nil {
		return auth.User{}, err
	}
	if err := tx.Commit(); err != nil {
		return auth.User{}, fmt.Errorf("sqlstore: use password reset: %w", err)
	}
	return u, nil
}
