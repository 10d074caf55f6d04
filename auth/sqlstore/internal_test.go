package sqlstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
)

func TestRebind(t *testing.T) {
	pg := &Store{dialect: Postgres}
	assert.Equal(t, "UPDATE t SET a = $1 WHERE b = $2 AND c < $3", pg.rebind("UPDATE t SET a = ? WHERE b = ? AND c < ?"))
	lite := &Store{dialect: SQLite}
	assert.Equal(t, "a = ?", lite.rebind("a = ?"))
}

func TestMigrationsParse(t *testing.T) {
	migs, err := sqlmigrate.Load(migrationsFS, "migrations")
	require.NoError(t, err)
	require.NotEmpty(t, migs)
	assert.Equal(t, 1, migs[0].Version)
	for _, m := range migs {
		for _, st := range m.Statements {
			assert.NotContains(t, st, ";", "one statement each")
			assert.NotContains(t, st, "--")
		}
	}
	assert.Len(t, migs[0].Statements, 7)
}

func TestTimeRoundTrip(t *testing.T) {
	assert.True(t, fromDB(toDB(fromDB(1_700_000_000_123_456_789))).Equal(fromDB(1_700_000_000_123_456_789)))
	assert.True(t, fromDB(0).IsZero())
	assert.Equal(t, int64(0), toDB(fromDB(0)))
}
