package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/sqlstore"
	"github.com/finkit/finkit/auth/storetest"
	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
)

const benchPassword = "correct horse battery staple"

// BenchmarkValidateSession measures cookie → user look-ups from the
// memory store, from SQLite and from PostgreSQL (with FINKIT_TEST_POSTGRES),
// serially and in parallel, in one run.
func BenchmarkValidateSession(b *testing.B) {
	ctx := context.Background()
	type backend struct {
		name  string
		store func(b *testing.B) auth.Store
	}
	backends := []backend{{"memory", func(*testing.B) auth.Store { return auth.NewMemoryStore() }}}
	for _, sb := range sqltest.Backends() {
		backends = append(backends, backend{sb.Name, func(b *testing.B) auth.Store {
			opts := sqlstore.Options{Dialect: sqlstore.SQLite}
			if sb.Dialect == sqlmigrate.Postgres {
				opts.Dialect = sqlstore.Postgres
			}
			s, err := sqlstore.New(ctx, sb.Open(b), opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}})
	}
	for _, tc := range backends {
		b.Run(tc.name, func(b *testing.B) { benchValidate(b, tc.store(b)) })
	}
}

func benchValidate(b *testing.B, store auth.Store) {
	ctx := context.Background()
	svc, err := auth.New(auth.Options{Store: store, Params: storetest.TinyParams()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Register(ctx, auth.RegisterRequest{Username: "bench", Password: benchPassword}); err != nil {
		b.Fatal(err)
	}
	// Some other sessions so the look-up is not in a one-row table.
	var tok string
	for range 1000 {
		res, err := svc.Login(ctx, auth.Credentials{Username: "bench", Password: benchPassword})
		if err != nil {
			b.Fatal(err)
		}
		tok = res.Token
	}
	b.Run("serial", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			if _, _, err := svc.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		reportRates(b, processCPU()-cpu0)
	})
	b.Run("parallel", func(b *testing.B) {
		cpu0 := processCPU()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := svc.Validate(ctx, tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRates(b, processCPU()-cpu0)
	})
}

// reportRates adds validations per wall-clock second and per CPU-second.
func reportRates(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "validations/cpu-s")
	}
}
