package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/sqlstore"
	"github.com/finkit/finkit/upload/uploadtest"
)

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "upload.db")
	db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)", path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteConformance(t *testing.T) {
	uploadtest.TestStore(t, func(t *testing.T) upload.Store {
		s, err := sqlstore.New(context.Background(), openSQLite(t), sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewIsIdempotent(t *testing.T) {
	db := openSQLite(t)
	for range 2 {
		if _, err := sqlstore.New(context.Background(), db, sqlstore.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sqlstore.New(context.Background(), db, sqlstore.Options{Dialect: 9}); err == nil {
		t.Fatal("unknown dialect accepted")
	}
}
