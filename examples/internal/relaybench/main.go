// Command relaybench measures the chat relay with many real clients: 1,000
// securechat clients (default) connect over real WebSockets to relays on
// one PostgreSQL database, all on one instance, or split over two
// instances joined by LISTEN/NOTIFY (securechat/sqlstore/pgnotify), and
// also to a single relay on SQLite; pairs of clients (across the two
// instances where there are two) exchange messages, first paced (-rate
// messages/s in all, as a Poisson stream per client), then as fast as the
// relays take them (-flood: every client sends again as soon as its
// previous message was stored). It reports delivered messages per second
// and the p50/p99 delivery latency, from Send (in the paced phase from
// when the message was due, so a client held up by slow sends does not
// hide the wait) to the recipient's Messages channel; messages are tagged
// by phase, and one arriving after its phase's 20 s wait counts as lost.
//
//	go run ./examples/internal/relaybench            # make bench-relay
//	go run ./examples/internal/relaybench -clients 200 -d 5s -flood 5s
//
// PostgreSQL is the server at FINKIT_TEST_POSTGRES (or -pg); without one
// the command starts a throw-away cluster of its own (initdb and pg_ctl, as
// the multi-instance tests do), or leaves the PostgreSQL runs out when
// PostgreSQL is not installed. Everything runs in this process, so the
// relays, the clients and the database share the machine's cores: the
// figures compare setups measured in the same run, they are no capacity
// planning. The load average at each run is printed with it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	clients  int
	rate     float64
	paced    time.Duration
	flood    time.Duration
	pgURL    string
	setups   string
	prekeys  int
	parallel int
	profile  string
}

func main() {
	var o options
	flag.IntVar(&o.clients, "clients", 1000, "clients in all (an even number; split evenly over the instances)")
	flag.Float64Var(&o.rate, "rate", 200, "paced phase: messages per second offered by all clients together")
	flag.DurationVar(&o.paced, "d", 10*time.Second, "paced phase duration (0 skips it)")
	flag.DurationVar(&o.flood, "flood", 8*time.Second, "flood phase duration (0 skips it)")
	flag.StringVar(&o.pgURL, "pg", os.Getenv("FINKIT_TEST_POSTGRES"), "PostgreSQL server URL (default FINKIT_TEST_POSTGRES; empty: start a throw-away cluster)")
	flag.StringVar(&o.setups, "setups", "pg-1,pg-2,sqlite-1", "comma-separated setups to run: pg-1 (PostgreSQL, one relay), pg-2 (PostgreSQL, two relays), sqlite-1 (SQLite, one relay)")
	flag.IntVar(&o.prekeys, "prekeys", 4, "one-time prekeys each client keeps published")
	flag.IntVar(&o.parallel, "parallel", 64, "clients connected or warmed up at once")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the whole run (relays, clients and the SQLite store; not the PostgreSQL server) to this file")
	flag.Parse()
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "relaybench:", err)
			os.Exit(1)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench:", err)
		stop()
		os.Exit(1) // a failed run leaves its profile unfinished
	}
}

func bench(ctx context.Context, o options, out io.Writer) error {
	if o.clients < 2 || o.clients%2 != 0 {
		return fmt.Errorf("-clients %d: want an even number of at least 2", o.clients)
	}
	if err := raiseFileLimit(uint64(4*o.clients + 512)); err != nil {
		return err
	}
	var setups []setup
	for _, name := range strings.Split(o.setups, ",") {
		s, err := parseSetup(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		setups = append(setups, s)
	}
	h := &harness{}
	defer h.close()
	var results []result
	for _, s := range setups {
		if s.postgres && o.pgURL == "" {
			url, err := h.startPostgres()
			if err != nil {
				fmt.Fprintf(out, "%s: left out: %v\n", s.name, err)
				continue
			}
			o.pgURL = url
		}
		fmt.Fprintf(out, "%s: %d clients on %d relay(s)...\n", s.name, o.clients, s.instances)
		res, err := run(ctx, o, s)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		results = append(results, res...)
	}
	report(out, o, results)
	return nil
}

// report prints one line per setup and phase.
func report(out io.Writer, o options, results []result) {
	fmt.Fprintf(out, "\nrelaybench: %d clients, paced %.0f msg/s offered for %v, flood for %v\n", o.clients, o.rate, o.paced, o.flood)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "setup\tphase\tsent\tdelivered\tlost\tmsg/s\tp50\tp99\tmax\tsend errors\tload\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f\t%v\t%v\t%v\t%d\t%.1f\t\n", r.setup, r.phase, r.sent, r.delivered,
			r.sent-r.delivered, r.rate, r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond),
			r.max.Round(time.Millisecond), r.sendErrors, r.load)
	}
	tw.Flush()
}

// raiseFileLimit raises the soft limit on open files to at least want (each
// client holds a socket, and so does the relay's end of it).
func raiseFileLimit(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur >= want {
		return nil
	}
	if lim.Max < want {
		return fmt.Errorf("%d open files needed, the hard limit is %d (ulimit -Hn)", want, lim.Max)
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise the open-file limit to %d: %w", want, err)
	}
	return nil
}

// loadAverage is the one-minute load average (0 when unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}
