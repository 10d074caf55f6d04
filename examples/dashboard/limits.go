package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/pdfexport"
)

// Bounds on what one user may hold at once and on what one request may ask
// for, so that no user can take what everyone shares.
const (
	// maxStreams bounds concurrent server-sent-event quote streams, and
	// maxStreamsPerUser one user's share of them (a few tabs).
	maxStreams        = 32
	maxStreamsPerUser = 4
	// maxHeavy bounds concurrent CPU-heavy requests (backtests with their
	// Monte Carlo runs, PDF exports); more wait for a slot up to
	// heavyWait. One user runs one at a time.
	maxHeavy        = 2
	maxHeavyPerUser = 1
	heavyWait       = 20 * time.Second
	// maxBacktestBars bounds the bars one backtest runs over (an uploaded
	// data set can be long; 40 years of trading days), and
	// maxSimulatedBars the bars of all Monte Carlo paths together (20
	// years of trading days with the default paths).
	maxBacktestBars  = 10_000
	maxSimulatedBars = 1_500_000
	// retryAfter is what a refused client is told to wait.
	retryAfter = 5 * time.Second
)

// perUser counts what each user holds of a resource and refuses more than
// max at once. Users holding nothing take no memory. The zero value is not
// usable; use newPerUser. Safe for concurrent use.
type perUser struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newPerUser(max int) *perUser { return &perUser{max: max, n: map[string]int{}} }

// acquire takes one for user; ok is false when the user already holds max.
// release gives it back (call it once).
func (p *perUser) acquire(user string) (release func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[user] >= p.max {
		return nil, false
	}
	p.n[user]++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.n[user]--; p.n[user] <= 0 {
				delete(p.n, user)
			}
		})
	}, true
}

// limitError is a request refused for what it asks for or for what its
// user or the server is already doing: a 4xx (or 503) with a message for
// the user and, for 429 and 503, when to try again.
type limitError struct {
	status int
	msg    string
	retry  time.Duration
}

func (e *limitError) Error() string { return e.msg }

// Limit refusals.
var (
	errHeavyPerUser = &limitError{status: http.StatusTooManyRequests, retry: retryAfter,
		msg: "You already have a backtest or export running; wait for it to finish and try again."}
	errHeavyBusy = &limitError{status: http.StatusServiceUnavailable, retry: retryAfter,
		msg: "The server is busy with other backtests; try again in a moment."}
	errStreamsPerUser = &limitError{status: http.StatusTooManyRequests, retry: retryAfter,
		msg: fmt.Sprintf("You already have %d live quote streams open; close one (another tab) and try again.", maxStreamsPerUser)}
	errStreamsBusy = &limitError{status: http.StatusServiceUnavailable, retry: retryAfter,
		msg: "Too many live quote streams are open; try again later."}
)

// tooMuchWork refuses a request that asks for more than a bound.
func tooMuchWork(format string, args ...any) error {
	return &limitError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf(format, args...)}
}

// checkBacktestWork refuses a backtest over more than maxBacktestBars
// bars, or a Monte Carlo run whose paths simulate more than
// maxSimulatedBars bars together.
func checkBacktestWork(bars int, monteCarlo bool) error {
	if bars > maxBacktestBars {
		return tooMuchWork("That price history has %d bars; a backtest runs over at most %d.", bars, maxBacktestBars)
	}
	if monteCarlo && bars*mcPaths > maxSimulatedBars {
		return tooMuchWork("A Monte Carlo run of %d paths over %d bars is more than the server simulates for one request (%d bars); "+
			"use a shorter history or run it without Monte Carlo.", mcPaths, bars, maxSimulatedBars)
	}
	return nil
}

// statusOf returns the status and Retry-After of err when it is a
// limitError.
func statusOf(err error) (status int, retry time.Duration, ok bool) {
	var le *limitError
	if !errors.As(err, &le) {
		return 0, 0, false
	}
	return le.status, le.retry, true
}

// setRetryAfter sets the Retry-After header in whole seconds.
func setRetryAfter(c *gin.Context, d time.Duration) {
	if d > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
}

// heavySlot takes the user's one heavy slot (or fails at once with 429),
// then waits for one of the server's maxHeavy slots up to heavyWait or
// until the request ends (503 then). release gives both back.
func (a *app) heavySlot(c *gin.Context) (release func(), err error) {
	mine, ok := a.heavyUsers.acquire(currentUser(c).ID)
	if !ok {
		return nil, errHeavyPerUser
	}
	ctx := c.Request.Context()
	t := time.NewTimer(heavyWait)
	defer t.Stop()
	select {
	case a.heavy <- struct{}{}:
		return func() { <-a.heavy; mine() }, nil
	case <-ctx.Done():
		mine()
		return nil, ctx.Err()
	case <-t.C:
		mine()
		return nil, errHeavyBusy
	}
}

// streamSlot takes one of the user's live-stream slots and one of the
// server's, at once or not at all.
func (a *app) streamSlot(c *gin.Context) (release func(), err error) {
	mine, ok := a.streamUsers.acquire(currentUser(c).ID)
	if !ok {
		return nil, errStreamsPerUser
	}
	select {
	case a.streams <- struct{}{}:
		return func() { <-a.streams; mine() }, nil
	default:
		mine()
		return nil, errStreamsBusy
	}
}

// refuse answers a page for a request refused by a limit (or fails, when
// err is not one).
func (a *app) refuse(c *gin.Context, err error) {
	status, retry, ok := statusOf(err)
	if !ok {
		a.fail(c, err)
		return
	}
	setRetryAfter(c, retry)
	a.render(c, status, "message", view{Title: "Try again later", Data: message{
		Heading: "Not now", Text: err.Error(), Link: "Back to the portfolio", LinkTo: "/portfolio",
	}})
}

// pdfOptions is the dashboard's PDF converter: with DenyPrivateNetworks, so
// that no markup in a report (today all of it is the server's own, escaped)
// can make Chromium fetch from this machine or its network, allowing only
// the dashboard's own host. pdfexport allows by host, not by port, so a
// loopback or wildcard address is not allowed at all (that would open
// every local port); the report needs nothing from it (its CSS is inline).
func pdfOptions(cfg config) pdfexport.Options {
	o := pdfexport.Options{PoolSize: 2, DenyPrivateNetworks: true}
	if h := ownHost(cfg); h != "" {
		o.AllowHosts = []string{h}
	}
	return o
}

// ownHost is the host name or address the dashboard is reached at
// (--public-host, else --addr), or "" when it is loopback, a wildcard or
// unknown.
func ownHost(cfg config) string {
	hostport := cfg.publicHost
	if hostport == "" {
		hostport = cfg.addr
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport // --public-host may be a bare host
	}
	host = strings.Trim(host, "[]")
	if host == "" || strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return ""
	}
	if ip, err := netip.ParseAddr(host); err == nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return ""
	}
	return host
}
