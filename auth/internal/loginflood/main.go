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
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/finkit/finkit/auth"
)

func main() {
	n := flag.Int("n", 200, "concurrent login attempts")
	users := flag.Int("users", 10, "accounts to spread the logins over")
	concurrency := flag.Int("concurrency", 0, "hashing concurrency (0 = GOMAXPROCS)")
	flag.Parse()
	if err := run(*n, *users, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "loginflood:", err)
		os.Exit(1)
	}
}

func run(n, users, concurrency int) error {
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
	var ok, bad, other atomic.Int64
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
	fmt.Printf("logins=%d ok=%d rejected=%d errors=%d hashing_limit=%d GOMAXPROCS=%d\n",
		n, ok.Load(), bad.Load(), other.Load(), limit, runtime.GOMAXPROCS(0))
	fmt.Printf("elapsed=%s throughput=%.1f logins/s mean=%.1f ms/login-slot\n",
		elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(elapsed.Milliseconds())*float64(limit)/float64(n))
	fmt.Printf("go_sys=%.1f MiB heap_sys=%.1f MiB total_alloc=%.1f MiB budget=(limit*20+64)=%d MiB\n",
		float64(ms.Sys)/(1<<20), float64(ms.HeapSys)/(1<<20), float64(ms.TotalAlloc)/(1<<20), limit*20+64)
	if other.Load() > 0 {
		return fmt.Errorf("%d logins failed unexpectedly", other.Load())
	}
	return nil
}
