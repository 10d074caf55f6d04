package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkPasswordHash compares argon2id at the default (OWASP)
// parameters with bcrypt at cost 10 and 12 as the baseline.
func BenchmarkPasswordHash(b *testing.B) {
	ctx := context.Background()
	h, err := auth.NewArgon2Hasher(auth.DefaultParams(), 0)
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

// reportCPU adds the process CPU time per operation in milliseconds.
func reportCPU(b *testing.B, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	}
}
