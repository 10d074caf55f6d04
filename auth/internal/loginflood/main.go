// Command loginflood measures login throughput and memory when many logins
// arrive at once. Run it under /usr/bin/time -v to read the peak RSS:
//
//	go build -o /tmp/loginflood ./auth/internal/loginflood
//	/usr/bin/time -v /tmp/loginflood -n 200
//	/usr/bin/time -v /tmp/loginflood -n 200 -concurrency 200   # unbounded, for comparison
//
// It registers -users accounts at the default argon2id parameters, then
// starts -n logins at the same instant from distinct client addresses
// (three in four with the right password) and reports the time taken.
//
// Like a configured server, it sets a soft memory limit (debug.SetMemoryLimit)
// of hashing limit × 20 MiB + 32 MiB unless GOMEMLIMIT is set or -memlimit
// says otherwise (-memlimit -1 turns it off, to see the GOGC-only peak).
// The argon2 buffers of finished hashes are garbage until the next
// collection; without a limit, GOGC=100 lets the heap grow to about twice
// the live buffers before collecting. The auth package itself never
// changes process-wide runtime settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/finkit/finkit/auth"
)

func main() {
	n := flag.Int("n", 200, "concurrent login attempts")
	users := flag.Int("users", 0, "accounts to spread the logins over (0 = one per login; fewer accounts get many attempts at once, which the per-account throttle refuses)")
	concurrency := flag.Int("concurrency", 0, "hashing concurrency (0 = GOMAXPROCS)")
	memlimit := flag.Int64("memlimit", 0, "soft memory limit in MiB (0 = hashing limit × 20 + 32 unless GOMEMLIMIT is set; -1 = none)")
	flag.Parse()
	limit := *concurrency
	if limit == 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	switch {
	case *memlimit > 0:
		debug.SetMemoryLimit(*memlimit << 20)
	case *memlimit == 0 && os.Getenv("GOMEMLIMIT") == "":
		debug.SetMemoryLimit(int64(limit*20+32) << 20)
	}
	if err := run(*n, *users, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "loginflood:", err)
		os.Exit(1)
	}
}

func run(n, users, concurrency int) error {
	if users == 0 {
		users = n
	}
	if n < 1 || users < 1 {
		return fmt.Errorf("-n and -users must be positive")
	}
	ctx := context.Background()
	svc, err := auth.New(auth.Options{Store: auth.NewMemoryStore(), HashConcurrency: concurrency})
	if err != nil {
		return err
	}
	const pw = "correct horse battery staple"
	for i := range users {
		if _, err := svc.Register(ctx, auth.RegisterRequest{Username: fmt.Sprintf("user%03d", i), Password: pw}); err != nil {
			return err
		}
	}
	runtime.GC()
	start := make(chan struct{})
	var ok, bad, throttled, other atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := auth.WithClient(ctx, auth.Client{IP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)})
			cr := auth.Credentials{Username: fmt.Sprintf("user%03d", i%users), Password: pw}
			if i%4 == 3 {
				cr.Password = "a wrong password for the flood"
			}
			<-start
			_, err := svc.Login(c, cr)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, auth.ErrTooManyAttempts):
				throttled.Add(1)
			case i%4 == 3:
				bad.Add(1)
			default:
				other.Add(1)
				fmt.Fprintln(os.Stderr, "unexpected:", err)
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := concurrency
	if limit == 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	fmt.Printf("logins=%d accounts=%d ok=%d rejected=%d throttled=%d errors=%d hashing_limit=%d GOMAXPROCS=%d\n",
		n, users, ok.Load(), bad.Load(), throttled.Load(), other.Load(), limit, runtime.GOMAXPROCS(0))
	fmt.Printf("elapsed=%s throughput=%.1f logins/s mean=%.1f ms/login-slot\n",
		elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(elapsed.Milliseconds())*float64(limit)/float64(n))
	memLimit := "none"
	if ml := debug.SetMemoryLimit(-1); ml != math.MaxInt64 {
		memLimit = fmt.Sprintf("%d MiB", ml>>20)
	}
	fmt.Printf("go_sys=%.1f MiB heap_sys=%.1f MiB total_alloc=%.1f MiB gc_cycles=%d memory_limit=%s budget=(limit*20+64)=%d MiB\n",
		float64(ms.Sys)/(1<<20), float64(ms.HeapSys)/(1<<20), float64(ms.TotalAlloc)/(1<<20), ms.NumGC, memLimit, limit*20+64)
	if other.Load() > 0 {
		return fmt.Errorf("%d logins failed unexpectedly", other.Load())
	}
	return nil
}
