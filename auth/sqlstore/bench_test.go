package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/internal/storetest"
	"github.com/finkit/finkit/auth/sqlstore"
)

const benchPassword = "correct horse battery staple"

// BenchmarkValidateSession measures cookie → user look-ups from the
// memory store and from SQLite, serially and in parallel.
func BenchmarkValidateSession(b *testing.B) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "bench.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	sqlStore, err := sqlstore.New(ctx, db, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sqlStore.Close()
	for _, tc := range []struct {
		name  string
		store auth.Store
	}{{"memory", auth.NewMemoryStore()}, {"sqlite", sqlStore}} {
		svc, err := auth.New(auth.Options{Store: tc.store, Params: storetest.TinyParams})
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
		b.Run(tc.name, func(b *testing.B) {
			cpu0 := processCPU()
			for b.Loop() {
				if _, _, err := svc.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
			reportRates(b, processCPU()-cpu0)
		})
		b.Run(tc.name+"-parallel", func(b *testing.B) {
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
}

// reportRates adds validations per wall-clock second and per CPU-second.
func reportRates(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "validations/cpu-s")
	}
}
