package sqlmigrate

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", SQLiteDSN(filepath.Join(t.TempDir(), "m.db")))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	return out
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"empty", "", nil},
		{"comments only", "-- nothing\n\n  -- here\n", nil},
		{"two", "CREATE TABLE a (x INT);\nCREATE TABLE b (y INT);\n", []string{"CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"}},
		{"multi-line", "CREATE TABLE a (\n  x INT\n);", []string{"CREATE TABLE a (\n  x INT\n)"}},
		{"semicolon inside a line", "INSERT INTO a VALUES ('x;y');", []string{"INSERT INTO a VALUES ('x;y')"}},
		{"no final semicolon", "CREATE TABLE a (x INT)", []string{"CREATE TABLE a (x INT)"}},
		{"lone semicolons", ";\n;\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, SplitStatements(tt.body))
		})
	}
}

func TestApplyInOrderOnceAndRecords(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	fsys := fstest.MapFS{
		"002_more.sql": {Data: []byte("ALTER TABLE t_a ADD COLUMN y INTEGER;\nCREATE TABLE t_b (z TEXT);\n")},
		"001_init.sql": {Data: []byte("-- first\nCREATE TABLE t_a (x INTEGER);\n")},
		"README.md":    {Data: []byte("not a migration")},
	}
	opts := Options{Table: "t_schema_migrations"}
	require.NoError(t, Apply(ctx, db, fsys, opts))
	require.NoError(t, Apply(ctx, db, fsys, opts), "a second run applies nothing and does not fail")
	assert.Equal(t, []string{"t_a", "t_b", "t_schema_migrations"}, tables(t, db))
	v, err := Version(ctx, db, "t_schema_migrations")
	require.NoError(t, err)
	assert.Equal(t, 2, v)
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM t_schema_migrations`).Scan(&n))
	assert.Equal(t, 2, n)
}

func TestFailedMigrationChangesNothing(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	fsys := fstest.MapFS{
		"001_init.sql":   {Data: []byte("CREATE TABLE t_a (x INTEGER);\n")},
		"002_broken.sql": {Data: []byte("CREATE TABLE t_b (y INTEGER);\nTHIS IS NOT SQL;\n")},
	}
	err := Apply(ctx, db, fsys, Options{Table: "t_schema_migrations"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "002_broken.sql")
	assert.Equal(t, []string{"t_a", "t_schema_migrations"}, tables(t, db), "002 rolled back as a whole")
	v, err := Version(ctx, db, "t_schema_migrations")
	require.NoError(t, err)
	assert.Equal(t, 1, v)
}

func TestExpand(t *testing.T) {
	db := openDB(t)
	fsys := fstest.MapFS{"001_init.sql": {Data: []byte("CREATE TABLE t_a (x {{BLOB}});\n")}}
	expand := func(s string) string { return strings.ReplaceAll(s, "{{BLOB}}", "BLOB") }
	require.NoError(t, Apply(context.Background(), db, fsys, Options{Table: "t_m", Expand: expand}))
	assert.Contains(t, tables(t, db), "t_a")
}

func TestConcurrentApply(t *testing.T) {
	db := openDB(t)
	fsys := fstest.MapFS{"001_init.sql": {Data: []byte("CREATE TABLE t_a (x INTEGER);\n")}}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = Apply(context.Background(), db, fsys, Options{Table: "t_m"}) })
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	v, err := Version(context.Background(), db, "t_m")
	require.NoError(t, err)
	assert.Equal(t, 1, v)
}

func TestBadInput(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	good := fstest.MapFS{"001_init.sql": {Data: []byte("CREATE TABLE t_a (x INTEGER);\n")}}
	for _, tc := range []struct {
		name  string
		fsys  fstest.MapFS
		table string
	}{
		{"table name with SQL", good, "t; DROP TABLE t_a"},
		{"empty table name", good, ""},
		{"no version", fstest.MapFS{"init.sql": {Data: []byte("SELECT 1;")}}, "t_m"},
		{"zero version", fstest.MapFS{"0_init.sql": {Data: []byte("SELECT 1;")}}, "t_m"},
		{"duplicate version", fstest.MapFS{"1_a.sql": {Data: []byte("SELECT 1;")}, "001_b.sql": {Data: []byte("SELECT 1;")}}, "t_m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Apply(ctx, db, tc.fsys, Options{Table: tc.table})
			assert.True(t, errors.Is(err, ErrBadMigration), "err = %v", err)
			assert.Empty(t, tables(t, db), "nothing created")
		})
	}
	assert.Error(t, Apply(ctx, nil, good, Options{Table: "t_m"}))
}

func TestDollarPlaceholders(t *testing.T) {
	assert.Equal(t, "SELECT 1", DollarPlaceholders("SELECT 1"))
	assert.Equal(t, "UPDATE t SET a = $1, b = $2 WHERE id = $3", DollarPlaceholders("UPDATE t SET a = ?, b = ? WHERE id = ?"))
	assert.Equal(t, "é = $1", DollarPlaceholders("é = ?"))
}

func TestLoadFromSubdirectory(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/001_init.sql": {Data: []byte("CREATE TABLE t_a (x INTEGER);\n")},
		"other/001_no.sql":        {Data: []byte("CREATE TABLE t_no (x INTEGER);\n")},
	}
	migs, err := Load(fsys, "migrations")
	require.NoError(t, err)
	require.Len(t, migs, 1)
	assert.Equal(t, "001_init.sql", migs[0].Name)
	db := openDB(t)
	require.NoError(t, Apply(context.Background(), db, fsys, Options{Dir: "migrations", Table: "t_m"}))
	assert.Equal(t, []string{"t_a", "t_m"}, tables(t, db))
}
