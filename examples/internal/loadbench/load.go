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

// encoding is what the load generator's clients accept.
type encoding int

const (
	gzipDecoded encoding = iota // gzip, the bodies decoded: Go's transport, as hey does
	gzipRaw                     // gzip, the bodies read as sent (a browser decodes on its own machine)
	identity                    // no Accept-Encoding: the bodies come uncompressed
)

func (e encoding) String() string {
	switch e {
	case gzipRaw:
		return "clients accept gzip and read the bodies as sent, not decoded (-raw)"
	case identity:
		return "clients send no Accept-Encoding (-plain): answers uncompressed"
	}
	return "clients accept gzip and decode it, as hey and browsers do"
}

// acceptGzip asks for gzip on every request, so Go's transport leaves the
// bodies as sent.
type acceptGzip struct{ next http.RoundTripper }

func (a acceptGzip) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Encoding", "gzip")
	return a.next.RoundTrip(r)
}

// newClient returns an HTTP client that keeps a connection per worker and
// accepts enc.
func newClient(conns int, enc encoding) *http.Client {
	var tr http.RoundTripper = &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  enc != gzipDecoded,
		IdleConnTimeout:     time.Minute,
	}
	if enc == gzipRaw {
		tr = acceptGzip{tr}
	}
	return &http.Client{
		Transport: tr,
		Timeout:   2 * time.Minute,
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
	return resp.StatusCode, resp.Uncompressed || resp.Header.Get("Content-Encoding") == "gzip"
}

// run has clients workers send t for d (requests started before d ends
// finish and count), measuring the server process pid meanwhile; the
// clients accept enc.
func run(ctx context.Context, s *server, t target, clients int, d time.Duration, enc encoding) (result, error) {
	pid := s.cmd.Process.Pid
	c := newClient(clients, enc)
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
