package pdfexport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// egressProxy is the forward HTTP proxy Chromium sends all its traffic
// through when DenyPrivateNetworks is on. It resolves every host itself,
// refuses private addresses and connects to exactly the address it checked,
// so a DNS answer that changes between check and connect (DNS rebinding)
// cannot reach the private network. WebSocket handshakes, which the
// DevTools Fetch domain never sees, come through it as CONNECT tunnels.
type egressProxy struct {
	policy    *policy
	dial      func(ctx context.Context, network, address string) (net.Conn, error)
	log       *slog.Logger
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport

	shared *budget // for connections to the browser-wide listener
	// tunnelIdle closes a CONNECT tunnel with no traffic either way for
	// that long.
	tunnelIdle time.Duration

	mu      sync.Mutex
	tunnels map[net.Conn]struct{} // hijacked connections, closed by close
	closed  bool
	wg      sync.WaitGroup
}

func startEgressProxy(p *policy, dial func(ctx context.Context, network, address string) (net.Conn, error), log *slog.Logger) (*egressProxy, error) {
	if dial == nil {
		d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pdfexport: starting the egress proxy: %w", err)
	}
	ep := &egressProxy{policy: p, dial: dial, log: log, tunnels: map[net.Conn]struct{}{}, tunnelIdle: tunnelIdleTimeout}
	ep.shared = newBudget(context.Background())
	ep.ln = newBudgetListener(ln, ep.shared)
	ep.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           ep.dialChecked,
		DisableCompression:    true, // pass the encoding through untouched
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}
	ep.srv = &http.Server{
		Handler: ep, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		// A request carries the budget of the listener it came in on.
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if bc, ok := c.(*budgetConn); ok {
				return withBudget(ctx, bc.b)
			}
			return ctx
		},
	}
	ep.wg.Go(func() { _ = ep.srv.Serve(ep.ln) })
	return ep, nil
}

// url is the proxy address for Chromium's --proxy-server.
func (ep *egressProxy) url() string { return "http://" + ep.ln.Addr().String() }

// listen opens a listener of its own for one browser context (its
// Target.createBrowserContext proxyServer), so that the proxy knows which
// conversion each request belongs to and charges its DNS lookups to b.
// When b ends, the listener and every connection that came through it are
// closed. It returns the proxy URL to give Chromium.
func (ep *egressProxy) listen(b *budget) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pdfexport: opening an egress proxy listener: %w", err)
	}
	bl := newBudgetListener(ln, b)
	ep.mu.Lock()
	if ep.closed {
		ep.mu.Unlock()
		ln.Close()
		return "", ErrClosed
	}
	ep.wg.Add(1)
	ep.mu.Unlock()
	go func() {
		defer ep.wg.Done()
		_ = ep.srv.Serve(bl)
	}()
	context.AfterFunc(b.ctx, bl.closeAll)
	return "http://" + ln.Addr().String(), nil
}

// close stops the proxy, cuts open tunnels and waits for its goroutines.
func (ep *egressProxy) close() {
	ep.mu.Lock()
	ep.closed = true
	for c := range ep.tunnels {
		_ = c.Close()
	}
	ep.mu.Unlock()
	_ = ep.srv.Close()
	ep.shared.cancel()
	ep.transport.CloseIdleConnections()
	ep.wg.Wait()
}

// dialChecked connects to address (host:port) after the policy approved
// the host, to one of the very addresses it approved.
func (ep *egressProxy) dialChecked(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBlockedURL, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%w: bad port in %q", ErrBlockedURL, address)
	}
	addrs, byName, err := ep.policy.vet(ctx, host, budgetFrom(ctx))
	if err != nil {
		return nil, err
	}
	if byName {
		return ep.dial(ctx, "tcp", address)
	}
	var last error
	for _, a := range addrs {
		c, err := ep.dial(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// hopHeaders are removed when forwarding (RFC 9110 section 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (ep *egressProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		ep.tunnel(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "pdfexport proxy: only absolute http URLs", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	resp, err := ep.transport.RoundTrip(out)
	if err != nil {
		ep.refuse(w, r.URL.Host, err)
		return
	}
	defer resp.Body.Close()
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if rerr != nil {
			return
		}
	}
}

func (ep *egressProxy) refuse(w http.ResponseWriter, host string, err error) {
	if errors.Is(err, ErrBlockedURL) {
		ep.log.Warn("pdfexport: proxy refused a connection", slog.String("host", host), slog.Any("reason", err))
		http.Error(w, "pdfexport: blocked by the private-network policy", http.StatusForbidden)
		return
	}
	http.Error(w, "pdfexport proxy: "+err.Error(), http.StatusBadGateway)
}

// tunnelIdleTimeout is how long a CONNECT tunnel may carry no traffic in
// either direction before the proxy closes it.
const tunnelIdleTimeout = 2 * time.Minute

// tunnel serves CONNECT (https and WebSocket traffic). A conversion may
// have tunnelsPerConversion tunnels open at once; a tunnel ends with its
// conversion or after tunnelIdle without traffic.
func (ep *egressProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	release, ok := budgetFrom(r.Context()).tunnel()
	if !ok {
		http.Error(w, "pdfexport proxy: too many open tunnels for this conversion", http.StatusTooManyRequests)
		return
	}
	defer release()
	upstream, err := ep.dialChecked(r.Context(), "tcp", r.Host)
	if err != nil {
		ep.refuse(w, r.Host, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "pdfexport proxy: cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, rw, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if !ep.track(client, upstream) {
		client.Close()
		upstream.Close()
		return
	}
	defer ep.wg.Done()
	defer ep.untrack(client, upstream)
	if b := budgetFrom(r.Context()); b != nil {
		// The tunnel ends with its conversion.
		stop := context.AfterFunc(b.ctx, func() { client.Close(); upstream.Close() })
		defer stop()
	}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		return
	}
	var last atomic.Int64 // unix nanoseconds of the last byte either way
	last.Store(time.Now().UnixNano())
	done := make(chan struct{}, 2)
	go func() {
		// Bytes the client sent after the CONNECT line are buffered in rw.
		ep.pipe(upstream, rw, client, &last)
		closeWrite(upstream)
		done <- struct{}{}
	}()
	ep.pipe(client, upstream, upstream, &last)
	closeWrite(client)
	<-done
}

// pipe copies src to dst until src ends, fails, or the tunnel has been
// idle both ways for tunnelIdle; conn is the connection src reads from,
// whose read deadline measures the idle time.
func (ep *egressProxy) pipe(dst net.Conn, src io.Reader, conn net.Conn, last *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(ep.tunnelIdle))
		n, err := src.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, last.Load())) < ep.tunnelIdle {
				continue // the other direction is busy
			}
			if errors.As(err, &ne) && ne.Timeout() {
				// Idle both ways: end the whole tunnel, not just this half.
				_ = dst.Close()
				_ = conn.Close()
			}
			return
		}
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// track registers a tunnel's connections so close can cut them; it fails
// once the proxy is closing.
func (ep *egressProxy) track(conns ...net.Conn) bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed {
		return false
	}
	for _, c := range conns {
		ep.tunnels[c] = struct{}{}
	}
	ep.wg.Add(1) // the tunnel; close waits for it
	return true
}

func (ep *egressProxy) untrack(conns ...net.Conn) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for _, c := range conns {
		delete(ep.tunnels, c)
		_ = c.Close()
	}
}

// budgetListener tags every connection it accepts with its budget and
// closes them all, and itself, on closeAll.
type budgetListener struct {
	net.Listener
	b *budget

	mu     sync.Mutex
	conns  map[*budgetConn]struct{}
	closed bool
}

func newBudgetListener(ln net.Listener, b *budget) *budgetListener {
	return &budgetListener{Listener: ln, b: b, conns: map[*budgetConn]struct{}{}}
}

func (l *budgetListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	bc := &budgetConn{Conn: c, b: l.b, l: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[bc] = struct{}{}
	return bc, nil
}

// closeAll closes the listener and every connection it accepted.
func (l *budgetListener) closeAll() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	_ = l.Listener.Close()
	for c := range conns {
		_ = c.Conn.Close()
	}
}

// budgetConn is a connection to the proxy from one browser context.
type budgetConn struct {
	net.Conn
	b *budget
	l *budgetListener
}

func (c *budgetConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
