package sqlstore_test

import (
	"context"
	"testing"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/sqlstore"
	"github.com/finkit/finkit/upload/uploadtest"
)

// TestConformance runs the store suite on SQLite and on PostgreSQL.
func TestConformance(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		opts := sqlstore.Options{Dialect: sqlstore.SQLite}
		if b.Dialect == sqlmigrate.Postgres {
			opts.Dialect = sqlstore.Postgres
		}
		uploadtest.TestStore(t, func(t *testing.T) upload.Store {
			s, err := sqlstore.New(context.Background(), b.Open(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

func TestNewIsIdempotent(t *testing.T) {
	db := sqltest.SQLite(t)
	for range 2 {
		if _, err := sqlstore.New(context.Background(), db, sqlstore.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sqlstore.New(context.Background(), db, sqlstore.Options{Dialect: 9}); err == nil {
		t.Fatal("unknown dialect accepted")
	}
}
