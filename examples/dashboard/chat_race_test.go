package main

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/securechat"
)

// TestChatDirectoryRacingLinks is the attacker's test of the link's
// check-then-insert: eight accounts link the same key at once (each with
// a valid proof, as only a key's holder can make, so this is one person's
// key pasted into several accounts). Exactly one link wins and every
// other answers errKeyTaken (the API's 409), on SQLite and on PostgreSQL,
// where both inserts used to pass the check and the loser got the
// unique violation as a 500. One account racing itself with one key
// succeeds every time.
func TestChatDirectoryRacingLinks(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		cd, err := openChatDirectory(ctx, b.Open(t), b.Dialect == sqlmigrate.Postgres)
		require.NoError(t, err)
		for round := range 4 {
			key, err := securechat.GenerateIdentity(nil)
			require.NoError(t, err)
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = cd.link(ctx, "user-"+strconv.Itoa(round)+"-"+strconv.Itoa(i), key.Public())
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
					continue
				}
				assert.True(t, errors.Is(err, errKeyTaken), "a racing link failed with %v, not errKeyTaken", err)
			}
			assert.Equal(t, 1, won, "round %d: links that won", round)
			entries, err := cd.entries(ctx)
			require.NoError(t, err)
			owners := 0
			for _, e := range entries {
				if e.Peer == key.ID() {
					owners++
				}
			}
			assert.Equal(t, 1, owners)
		}

		// One account, one key, linked from several tabs at once.
		key, err := securechat.GenerateIdentity(nil)
		require.NoError(t, err)
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, cd.link(ctx, "same-user", key.Public()))
			}()
		}
		wg.Wait()
		entries, err := cd.entries(ctx)
		require.NoError(t, err)
		assert.Equal(t, key.ID(), entries["same-user"].Peer)
	})
}
