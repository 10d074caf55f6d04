package appdb

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	authsql "github.com/finkit/finkit/auth/sqlstore"
)

// BenchmarkSessionLookup is what every logged-in request does first: look
// its session up in the auth store, from many goroutines at once (the
// dashboard under 200 clients), on SQLite pools of different shapes.
// "go-default" is database/sql's default idle count with the old open
// limit. It reports the process's CPU time per lookup and how many
// connections the pool closed because too many were idle.
func BenchmarkSessionLookup(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    pool
	}{
		{"go-default-idle2-open32", pool{maxOpen: 32, maxIdle: 2}},
		{"idle16-open32", pool{maxOpen: 32, maxIdle: 16, maxIdleTime: 5 * time.Minute}},
		{"idle4-open4", pool{maxOpen: 4, maxIdle: 4, maxIdleTime: 5 * time.Minute}},
		{"idle8-open8", pool{maxOpen: 8, maxIdle: 8, maxIdleTime: 5 * time.Minute}},
		{"idle16-open16", pool{maxOpen: 16, maxIdle: 16, maxIdleTime: 5 * time.Minute}},
		{"idle32-open32", pool{maxOpen: 32, maxIdle: 32, maxIdleTime: 5 * time.Minute}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := open(ctx, filepath.Join(b.TempDir(), "bench.db"), tc.p)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			st, err := authsql.New(ctx, db.DB, db.Auth())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			now := time.Now()
			if err := st.CreateUser(ctx, auth.User{ID: "u1", Username: "kim", Role: auth.RoleUser, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
				b.Fatal(err)
			}
			th := sha256.Sum256([]byte("token"))
			if err := st.CreateSession(ctx, auth.Session{ID: "s1", TokenHash: th[:], UserID: "u1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			closed0 := db.Stats().MaxIdleClosed
			cpu0 := cpuNow()
			b.SetParallelism(100) // 200 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := st.SessionByToken(ctx, th[:]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(cpuNow()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(db.Stats().MaxIdleClosed-closed0)/float64(b.N), "closed/op")
		})
	}
}

// cpuNow is the process's CPU time (user and system) so far.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprint("getrusage: ", err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
