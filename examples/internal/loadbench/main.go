package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/finkit/finkit/examples/internal/benchbooks"
)

type options struct {
	pkg      string
	bin      string
	clients  int
	duration time.Duration
	single   time.Duration
	maxLoad  float64
	wait     time.Duration
	keep     bool
	txs      int
	only     string
	profile  string
	base     string
	tries    int
	enc      encoding
}

func main() {
	var o options
	flag.StringVar(&o.pkg, "pkg", "./examples/dashboard", "dashboard package to build")
	flag.StringVar(&o.bin, "bin", "", "a dashboard binary to run instead of building -pkg (e.g. an older version to compare)")
	flag.IntVar(&o.clients, "c", 200, "concurrent clients")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "how long each endpoint runs with -c clients")
	flag.DurationVar(&o.single, "d1", 5*time.Second, "how long each endpoint runs with one client")
	flag.Float64Var(&o.maxLoad, "max-load", 10, "wait while the one-minute load average is above this")
	flag.DurationVar(&o.wait, "wait", 5*time.Minute, "longest wait (over the whole run) for the load to drop before measuring anyway")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (database, log)")
	flag.IntVar(&o.tries, "tries", 20, "first requests after a write timed per path")
	flag.IntVar(&o.txs, "txs", 1000, "generated transactions of the large user (over three years)")
	flag.StringVar(&o.only, "only", "", "comma-separated endpoint names to run (default all)")
	flag.StringVar(&o.base, "base", "", "a dashboard binary to measure too, endpoint by endpoint before this version (e.g. main's when a change began), for a comparison in one run")
	flag.StringVar(&o.profile, "profile", "", "write a CPU profile of the server under each endpoint's load into this directory (builds the dashboard with -tags pprof; a -bin must be built so)")
	plain := flag.Bool("plain", false, "send no Accept-Encoding, so every answer comes uncompressed (by default the clients accept gzip and decode it, as hey and browsers do)")
	raw := flag.Bool("raw", false, "accept gzip but read the bodies as sent, not decoded (a browser decodes on its own machine; here decoding shares the server's cores)")
	csvOut := flag.String("write-csv", "", "only write the large user's generated transactions to this file")
	flag.Parse()
	switch {
	case *plain && *raw:
		fmt.Fprintln(os.Stderr, "loadbench: -plain and -raw exclude each other")
		os.Exit(2)
	case *plain:
		o.enc = identity
	case *raw:
		o.enc = gzipRaw
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *csvOut != "" {
		csv, err := benchbooks.CSV(ctx, o.txs, 3, time.Now().UTC())
		if err == nil {
			err = os.WriteFile(*csvOut, csv, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := bench(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// side is one dashboard under test: the version measured, or with -base
// the one it is compared with.
type side struct {
	label        string
	s            *server
	small, large string // the users' tokens
	many, one    []result
}

func bench(ctx context.Context, o options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "finkit-loadbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(out, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.bin
	if bin == "" {
		if bin, err = build(ctx, o.pkg, dir, o.profile != ""); err != nil {
			return err
		}
	}
	type version struct{ label, bin string }
	versions := []version{{"this version", bin}}
	if o.base != "" {
		versions = []version{{"base", o.base}, versions[0]}
	}
	var sides []*side
	for i, v := range versions {
		sdir := filepath.Join(dir, fmt.Sprint(i))
		if err := os.Mkdir(sdir, 0o755); err != nil {
			return err
		}
		s, err := start(ctx, v.bin, sdir, o.profile != "")
		if err != nil {
			return err
		}
		defer s.stop()
		sd := &side{label: v.label, s: s}
		if sd.small, sd.large, err = setUp(ctx, s, o.txs); err != nil {
			return err
		}
		sides = append(sides, sd)
	}
	bigName := fmt.Sprintf("%d tx", o.txs+20)
	targets := []target{
		{name: "/healthz", path: "/healthz"},
		{name: "/api/quotes", path: "/api/quotes", user: "small"},
		{name: "/portfolio (20 tx)", path: "/portfolio", user: "small"},
		{name: "/api/portfolio (20 tx)", path: "/api/portfolio", user: "small"},
		{name: "/portfolio (" + bigName + ")", path: "/portfolio", user: "large"},
		{name: "/api/portfolio (" + bigName + ")", path: "/api/portfolio", user: "large"},
		{name: "/ (" + bigName + ")", path: "/", user: "large"},
	}
	if o.only != "" {
		want := strings.Split(o.only, ",")
		targets = slices.DeleteFunc(targets, func(t target) bool {
			return !slices.ContainsFunc(want, t.named)
		})
	}
	fmt.Fprintf(out, "%d clients for %s per endpoint, then 1 client for %s; %s; load generator on the same machine\n",
		o.clients, o.duration, o.single, o.enc)
	if len(sides) > 1 {
		fmt.Fprintf(out, "each endpoint is measured on the base (%s), then on this version, back to back\n", o.base)
	}
	quietBy := time.Now().Add(o.wait) // one budget of waiting for the whole run
	for _, t := range targets {
		for _, sd := range sides {
			if err := sd.measure(ctx, o, t, quietBy, out); err != nil {
				return err
			}
		}
	}
	for _, sd := range sides {
		fmt.Fprintf(out, "\n%s (%s):\n", sd.label, sd.s.url)
		writeTable(out, sd.many, sd.one)
	}
	for _, sd := range sides {
		if err := sd.afterChange(ctx, o, bigName, out); err != nil {
			return err
		}
	}
	return nil
}

// measure runs t on the side's server with many clients, then one.
func (sd *side) measure(ctx context.Context, o options, t target, quietBy time.Time, out io.Writer) error {
	switch t.user {
	case "small":
		t.token = sd.small
	case "large":
		t.token = sd.large
	}
	waitForQuiet(ctx, o, quietBy, out)
	if err := warm(ctx, sd.s, t, o.enc); err != nil {
		return err
	}
	name := t.name
	if o.base != "" {
		name = sd.label + " " + name
	}
	prof := sd.s.profile(ctx, o.profile, name, o.duration)
	r, err := run(ctx, sd.s, t, o.clients, o.duration, o.enc)
	if err != nil {
		return err
	}
	if err := prof(); err != nil {
		return err
	}
	r1, err := run(ctx, sd.s, t, 1, o.single, o.enc)
	if err != nil {
		return err
	}
	sd.many, sd.one = append(sd.many, r), append(sd.one, r1)
	fmt.Fprintf(out, "  %-12s %-28s done: %d requests, %d errors %v, %d gzip\n", sd.label, t.name, r.requests+r1.requests, r.errors+r1.errors, r.status, r.gzipped+r1.gzipped)
	return nil
}

// afterChange times the first requests after writes to the large user's
// books and prints them with the server's peak memory.
func (sd *side) afterChange(ctx context.Context, o options, bigName string, out io.Writer) error {
	// With -profile, the writes and first requests go on for o.duration
	// under a profile (after_a_write.pprof), for enough samples.
	rounds := 1
	if o.profile != "" {
		rounds = max(1, int(o.duration/time.Second)) // about a second a round
	}
	name := "after a write"
	if o.base != "" {
		name = sd.label + " " + name
	}
	prof := sd.s.profile(ctx, o.profile, name, o.duration)
	firsts, err := afterChange(ctx, sd.s, sd.large, o.tries*rounds, o.enc)
	if err != nil {
		return err
	}
	if err := prof(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s: first request after a write to the %s user's books (one-row CSV import before each):\n", sd.label, bigName)
	for _, f := range firsts {
		fmt.Fprintf(out, "  %-16s %s\n", f.path, f.summary())
	}
	hwm, _ := statusField(sd.s.cmd.Process.Pid, "VmHWM:")
	fmt.Fprintf(out, "server peak RSS over the whole run (VmHWM): %s\n", mib(hwm))
	return nil
}

// setUp registers the two users and books their portfolios.
func setUp(ctx context.Context, s *server, txs int) (small, large string, err error) {
	c := newClient(4, identity)
	if small, err = register(ctx, c, s.url, "bench-small"); err != nil {
		return "", "", err
	}
	if large, err = register(ctx, c, s.url, "bench-large"); err != nil {
		return "", "", err
	}
	for _, tok := range []string{small, large} {
		if err := loadDemo(ctx, c, s.url, tok); err != nil {
			return "", "", err
		}
	}
	csv, err := benchbooks.CSV(ctx, txs, 3, time.Now().UTC())
	if err != nil {
		return "", "", err
	}
	if _, err := importCSV(ctx, c, s.url, large, csv); err != nil {
		return "", "", err
	}
	return small, large, nil
}

// warm sends a few requests so caches, connections and the runtime are in
// their steady state, and fails when the endpoint does not answer 200.
func warm(ctx context.Context, s *server, t target, enc encoding) error {
	c := newClient(1, enc)
	defer c.CloseIdleConnections()
	for range 5 {
		if code, _ := do(ctx, c, s.url, t); code != 200 {
			return fmt.Errorf("%s: status %d", t.name, code)
		}
	}
	return nil
}

// waitForQuiet waits while the machine is busier than o.maxLoad, until
// deadline at the latest.
func waitForQuiet(ctx context.Context, o options, deadline time.Time, out io.Writer) {
	for l := loadAvg(); l > o.maxLoad; l = loadAvg() {
		if time.Now().After(deadline) {
			fmt.Fprintf(out, "  load %.1f is still above %.1f: measuring anyway\n", l, o.maxLoad)
			return
		}
		fmt.Fprintf(out, "  load %.1f is above %.1f: waiting\n", l, o.maxLoad)
		select {
		case <-ctx.Done():
			return
		case <-time.After(15 * time.Second):
		}
	}
}

type firstTimes struct {
	path  string
	times []time.Duration
}

// summary is the median and the longest of the tries, then every try in
// order (an outlier's place in the sequence tells something: the first
// after a start, once a second, ...).
func (f firstTimes) summary() string {
	if len(f.times) == 0 {
		return "no tries"
	}
	sorted := slices.Sorted(slices.Values(f.times))
	p50 := sorted[(len(sorted)-1)/2]
	return fmt.Sprintf("p50 %s, max %s over %d: %v", ms(p50), ms(sorted[len(sorted)-1]), len(f.times), f.times)
}

// afterChange imports one new row into the large user's books, then times
// the next request, tries times per path, with clients accepting enc.
func afterChange(ctx context.Context, s *server, token string, tries int, enc encoding) ([]firstTimes, error) {
	c := newClient(1, enc)
	defer c.CloseIdleConnections()
	var res []firstTimes
	n := 0
	for _, p := range []string{"/api/portfolio", "/portfolio"} {
		f := firstTimes{path: p}
		for range tries {
			n++
			row := fmt.Sprintf("date,account,kind,amount,note\n%s,broker,deposit,1,change %d\n",
				time.Now().UTC().Format(time.DateOnly), n)
			if _, err := importCSV(ctx, c, s.url, token, []byte(row)); err != nil {
				return nil, err
			}
			t0 := time.Now()
			if code, _ := do(ctx, c, s.url, target{path: p, token: token}); code != 200 {
				return nil, fmt.Errorf("%s after a change: status %d", p, code)
			}
			f.times = append(f.times, time.Since(t0).Round(100*time.Microsecond))
		}
		res = append(res, f)
	}
	return res, nil
}

func writeTable(out io.Writer, many, one []result) {
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintf(tw, "endpoint\t clients\t req/s\t p50\t p99\t CPU/req\t peak RSS\t errors\t 1-client p50\t 1-client p99\t load\t\n")
	for i, r := range many {
		r1 := one[i]
		fmt.Fprintf(tw, "%s\t %d\t %.0f\t %s\t %s\t %s\t %s\t %d\t %s\t %s\t %.1f\t\n",
			r.target.name, r.clients, r.rps(), ms(r.quantile(0.5)), ms(r.quantile(0.99)), ms(r.cpuPerRequest()),
			mib(max(r.peakRSS, r1.peakRSS)), r.errors+r1.errors, ms(r1.quantile(0.5)), ms(r1.quantile(0.99)), r.load1)
	}
	_ = tw.Flush()
}

func ms(d time.Duration) string {
	x := float64(d) / float64(time.Millisecond)
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f ms", x)
	case x >= 1:
		return fmt.Sprintf("%.1f ms", x)
	default:
		return fmt.Sprintf("%.3f ms", x)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// named reports whether -only's name w picks t: its whole name, or its path
// before the user in brackets ("/portfolio" picks both users' /portfolio,
// "/" only the overview).
func (t target) named(w string) bool {
	return t.name == w || strings.HasPrefix(t.name, w+" (")
}
