package auth_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/internal/storetest"
	"github.com/finkit/finkit/auth/sqlstore"
	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"
)

// BenchmarkPasswordHash compares argon2id at the default (OWASP)
// parameters with bcrypt at cost 10 and 12 as the baseline.
func BenchmarkPasswordHash(b *testing.B) {
	ctx := context.Background()
	h, err := auth.NewArgon2Hasher(auth.DefaultParams, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("argon2id-m19MiB-t2-p1", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, processCPU()-cpu0)
	})
	enc, _ := h.Hash(ctx, "correct horse battery staple")
	b.Run("argon2id-verify", func(b *testing.B) {
		cpu0 := processCPU()
		defer func() { reportCPU(b, processCPU()-cpu0) }()
		for b.Loop() {
			if ok, err := h.Verify(ctx, "correct horse battery staple", enc); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	for _, cost := range []int{10, 12} {
		b.Run("bcrypt-cost"+string(rune('0'+cost/10))+string(rune('0'+cost%10)), func(b *testing.B) {
			cpu0 := processCPU()
			defer func() { reportCPU(b, processCPU()-cpu0) }()
			for b.Loop() {
				if _, err := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), cost); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

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
		if _, err := svc.Register(ctx, auth.RegisterRequest{Username: "bench", Password: goodPassword}); err != nil {
			b.Fatal(err)
		}
		// Some other sessions so the look-up is not in a one-row table.
		var tok string
		for range 1000 {
			res, err := svc.Login(ctx, auth.Credentials{Username: "bench", Password: goodPassword})
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

// reportCPU adds the process CPU time per operation in milliseconds.
func reportCPU(b *testing.B, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	}
}
