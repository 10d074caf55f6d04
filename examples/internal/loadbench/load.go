package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// target is one request the load generator repeats.
type target struct {
	name  string // shown in the table
	path  string
	token string // bearer token; "" for anonymous
	user  string // whose token: "small", "large" or "" (bench fills token in)
}

// result is what one run against a target measured.
type result struct {
	target   target
	clients  int
	requests int
	errors   int // transport errors and non-2xx answers
	gzipped  int // answers that came gzip-compressed
	status   map[int]int
	elapsed  time.Duration
	lat      []time.Duration // sorted
	cpu      time.Duration   // server CPU during the run
	peakRSS  int64           // server's highest VmRSS sampled during the run
	load1    float64         // one-minute load average before the run
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(q*float64(len(r.lat))+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

func (r result) cpuPerRequest() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

// newClient returns an HTTP client that keeps a connection per worker.
// Unless plain, it asks for gzip and decodes the answers (Go's transport
// does both unless told not to), as hey and browsers do; a plain client
// sends no Accept-Encoding.
func newClient(conns int, plain bool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  plain,
			IdleConnTimeout:     time.Minute,
		},
		Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect to /login is an error here
		},
	}
}

// do sends one GET and reads the whole body (decoded); it returns the
// status (0 for a transport error) and whether the body came
// gzip-compressed.
func do(ctx context.Context, c *http.Client, base string, t target) (status int, gzipped bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+t.path, nil)
	if err != nil {
		return 0, false
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Uncompressed
}

// run has clients workers send t for d (requests started before d ends
// finish and count), measuring the server process pid meanwhile; plain
// as newClient.
func run(ctx context.Context, s *server, t target, clients int, d time.Duration, plain bool) (result, error) {
	pid := s.cmd.Process.Pid
	c := newClient(clients, plain)
	defer c.CloseIdleConnections()
	res := result{target: t, clients: clients, status: map[int]int{}, load1: loadAvg()}

	var peak atomic.Int64
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := rss(pid); err == nil && n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
		}
	})

	cpu0, err := cpuTime(pid)
	if err != nil {
		stopSampling()
		return res, err
	}
	start := time.Now()
	deadline := start.Add(d)
	type worker struct {
		lat     []time.Duration
		status  map[int]int
		gzipped int
	}
	ws := make([]worker, clients)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i].status = map[int]int{}
		wg.Go(func() {
			w := &ws[i]
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				code, gz := do(ctx, c, s.url, t)
				w.lat = append(w.lat, time.Since(t0))
				w.status[code]++
				if gz {
					w.gzipped++
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	cpu1, err := cpuTime(pid)
	stopSampling()
	sampler.Wait()
	if err != nil {
		return res, err
	}
	res.cpu = cpu1 - cpu0
	res.peakRSS = peak.Load()
	for _, w := range ws {
		res.lat = append(res.lat, w.lat...)
		res.gzipped += w.gzipped
		for code, n := range w.status {
			res.status[code] += n
			if code < 200 || code > 299 {
				res.errors += n
			}
		}
	}
	slices.Sort(res.lat)
	res.requests = len(res.lat)
	return res, ctx.Err()
}
