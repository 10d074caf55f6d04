package sqlstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/internal/sqlmigrate"
)

var _ auth.ThrottleStore = (*Store)(nil)

// throttleRow is one key of an UpdateThrottle: its place in the caller's
// slice and its stored identity.
type throttleRow struct {
	i       int
	scope   string
	keyHash string
}

// UpdateThrottle implements auth.ThrottleStore in one write transaction.
// Every key's row is created if missing and locked before any is read, in
// the order of (scope, key hash), so that concurrent updates of the same
// keys from any number of processes queue instead of both starting from a
// fresh state, and two updates of overlapping keys never deadlock.
func (s *Store) UpdateThrottle(ctx context.Context, now time.Time, keys []auth.ThrottleKey, fn func([]auth.ThrottleState) error) error {
	if len(keys) == 0 {
		return errors.New("sqlstore: update throttle: no keys")
	}
	rows := make([]throttleRow, len(keys))
	for i, k := range keys {
		h := sha256.Sum256([]byte(k.Key))
		rows[i] = throttleRow{i: i, scope: k.Scope, keyHash: hex.EncodeToString(h[:])}
	}
	slices.SortFunc(rows, func(a, b throttleRow) int {
		return cmp.Or(cmp.Compare(a.scope, b.scope), cmp.Compare(a.keyHash, b.keyHash))
	})
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: update throttle: %w", err)
	}
	defer tx.Rollback()
	states := make([]auth.ThrottleState, len(keys))
	for _, r := range rows {
		st, err := s.lockThrottle(ctx, tx, r)
		if err != nil {
			return err
		}
		if st.Expires.After(now) {
			states[r.i] = st
		}
	}
	if err := fn(states); err != nil {
		return err
	}
	for _, r := range rows {
		if err := s.storeThrottle(ctx, tx, r, states[r.i], now); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: update throttle: %w", err)
	}
	return nil
}

const throttleColumns = `tokens, tokens_at, strikes, until_at, next_slow, inflight, inflight_until, last_seen, expires_at`

// lockThrottle creates r's row if it is missing (a concurrent creator's
// insert is waited for) and reads it under a row lock. On PostgreSQL a row
// deleted by the transaction it waited for reads as no row: it is created
// again.
func (s *Store) lockThrottle(ctx context.Context, tx *sqlmigrate.Tx, r throttleRow) (auth.ThrottleState, error) {
	for range 3 {
		st, err := s.lockThrottleOnce(ctx, tx, r)
		if !errors.Is(err, sql.ErrNoRows) {
			return st, err
		}
	}
	return auth.ThrottleState{}, errors.New("sqlstore: update throttle: row deleted under the lock three times")
}

func (s *Store) lockThrottleOnce(ctx context.Context, tx *sqlmigrate.Tx, r throttleRow) (auth.ThrottleState, error) {
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO auth_throttle (scope, key_hash, `+throttleColumns+
		`) VALUES (?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0) ON CONFLICT (scope, key_hash) DO NOTHING`), r.scope, r.keyHash); err != nil {
		return auth.ThrottleState{}, fmt.Errorf("sqlstore: update throttle: %w", err)
	}
	var st auth.ThrottleState
	var tokensAt, until, nextSlow, inflightUntil, lastSeen, expires int64
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT `+throttleColumns+` FROM auth_throttle WHERE scope = ? AND key_hash = ?`+
		s.sqlDialect().ForUpdate()), r.scope, r.keyHash).Scan(&st.Tokens, &tokensAt, &st.Strikes, &until, &nextSlow,
		&st.Inflight, &inflightUntil, &lastSeen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ThrottleState{}, err
	}
	if err != nil {
		return auth.ThrottleState{}, fmt.Errorf("sqlstore: update throttle: %w", err)
	}
	st.TokensAt, st.Until, st.NextSlow = fromDB(tokensAt), fromDB(until), fromDB(nextSlow)
	st.InflightUntil, st.LastSeen, st.Expires = fromDB(inflightUntil), fromDB(lastSeen), fromDB(expires)
	return st, nil
}

// storeThrottle writes st to r's row, or deletes the row when st has
// expired at now.
func (s *Store) storeThrottle(ctx context.Context, tx *sqlmigrate.Tx, r throttleRow, st auth.ThrottleState, now time.Time) error {
	var err error
	if !st.Expires.After(now) {
		_, err = tx.ExecContext(ctx, s.rebind(`DELETE FROM auth_throttle WHERE scope = ? AND key_hash = ?`), r.scope, r.keyHash)
	} else {
		_, err = tx.ExecContext(ctx, s.rebind(`UPDATE auth_throttle SET tokens = ?, tokens_at = ?, strikes = ?, until_at = ?, `+
			`next_slow = ?, inflight = ?, inflight_until = ?, last_seen = ?, expires_at = ? WHERE scope = ? AND key_hash = ?`),
			st.Tokens, toDB(st.TokensAt), st.Strikes, toDB(st.Until), toDB(st.NextSlow), st.Inflight, toDB(st.InflightUntil),
			toDB(st.LastSeen), toDB(st.Expires), r.scope, r.keyHash)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: update throttle: %w", err)
	}
	return nil
}

// DeleteExpiredThrottles implements auth.ThrottleStore.
func (s *Store) DeleteExpiredThrottles(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM auth_throttle WHERE expires_at <= ?`), toDB(now))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete expired throttle state: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
