// Command loadbench measures the dashboard under load, the way a user would
// see it: it builds the real dashboard, starts it on a free loopback port
// with a fresh SQLite database (access log on, written to a file), registers
// two users through the pages, books the demo portfolio (20 transactions)
// for one and the demo plus 1,000 generated transactions over three years
// for the other, logs both in through the JSON API, and then, endpoint by
// endpoint, runs many concurrent keep-alive clients for a fixed time,
// followed by a single client.
//
// For each endpoint it reports requests per second, p50 and p99 latency,
// the server's CPU time per request (utime+stime of the server process from
// /proc, so the load generator's own CPU is not counted) and the server's
// peak resident memory while the endpoint ran (VmRSS sampled every 20 ms).
// The clients accept gzip and read the bodies decoded, as hey's Go transport
// and browsers do (the header line says so, and each endpoint's line counts
// the answers that came compressed); -plain sends no Accept-Encoding, for
// the uncompressed measurement, and -raw accepts gzip but reads the bodies
// as sent: a browser decodes on its own machine, while here decoding a
// 63 KB page takes the load generator a fair share of the server's cores.
//
// It also times the first /api/portfolio and /portfolio request after a
// write to the large user's books (a one-row CSV import), which is what a
// cache has to pay for: -tries times each (20 by default), printed as the
// median, the longest and every try in order.
//
//	go run ./examples/internal/loadbench                 # make bench-load
//	go run ./examples/internal/loadbench -d 5s -c 50     # shorter, fewer clients
//	go run ./examples/internal/loadbench -profile prof   # and a CPU profile per endpoint
//	go run ./examples/internal/loadbench -base old/dashboard  # old and new in one run
//	go run ./examples/internal/loadbench -plain          # no Accept-Encoding: uncompressed answers
//
// With -base BIN a second dashboard (an older build) is started beside
// this version and every endpoint is measured on it, then on this
// version, back to back, so both tables see the same machine; each
// version's table, first requests after a write and peak memory follow.
//
// With -profile DIR the dashboard is built with -tags pprof (see the
// dashboard's pprof.go: Go's profiles on a second loopback listener, in
// that build only) and a CPU profile of the server is taken while each
// endpoint runs with many clients, into DIR/<endpoint>.pprof, for
// `go tool pprof -top DIR/api_portfolio_1020_tx.pprof`. To compare with
// an older version, build it with -tags pprof too and pass -bin.
//
// The load generator runs on the same machine and cores as the server, as a
// user's own load test would; the load average before each endpoint is
// printed beside it, and the run waits (up to -wait) while the one-minute
// load is above -max-load, since a busy machine makes every figure worse.
// It needs Linux (/proc).
package main
