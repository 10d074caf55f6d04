package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
)

// TestStateBytes: state records are text; bytes PostgreSQL's text columns
// refuse (NUL, invalid UTF-8) are ErrInvalidState in the memory store and
// on every backend alike, and keep the record as it was (on PostgreSQL a
// driver error before, while SQLite and MemStore kept them).
func TestStateBytes(t *testing.T) {
	check := func(t *testing.T, st portfolio.StateStore) {
		ctx := context.Background()
		for _, data := range [][]byte{[]byte(`{"a":"é"}`), []byte("ok")} {
			require.NoError(t, st.SaveState(ctx, "r", data))
			got, err := st.State(ctx, "r")
			require.NoError(t, err)
			require.Equal(t, data, got)
		}
		for _, data := range [][]byte{{0, 1, 2}, {0xff, 0xfe}, []byte("é\x00")} {
			require.ErrorIs(t, st.SaveState(ctx, "r", data), portfolio.ErrInvalidState, "%q", data)
		}
		require.ErrorIs(t, st.SaveState(ctx, "r\x00", []byte("x")), portfolio.ErrInvalidState)
		got, err := st.State(ctx, "r")
		require.NoError(t, err)
		require.Equal(t, []byte("ok"), got, "a refused record changes nothing")
	}
	t.Run("memory", func(t *testing.T) { check(t, portfolio.NewMemStore().Book("alice").(portfolio.StateStore)) })
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		opts := sqlstore.Options{}
		if b.Dialect == sqlmigrate.Postgres {
			opts.Placeholder = sqlstore.Dollar
		}
		s, err := sqlstore.New(context.Background(), b.Open(t), opts)
		require.NoError(t, err)
		check(t, s.Book("alice").(portfolio.StateStore))
	})
}
