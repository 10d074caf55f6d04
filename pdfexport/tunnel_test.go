package pdfexport

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tunnelTo opens a CONNECT tunnel to target through the proxy listener at
// addr and returns the connection and the status line.
func tunnelTo(t *testing.T, addr, target string) (net.Conn, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	require.NoError(t, err)
	for { // the rest of the response head
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if line == "\r\n" {
			break
		}
	}
	return conn, status
}

// TestTunnelLimits: one conversion cannot hold more than its share of
// CONNECT tunnels, and a tunnel with no traffic either way is closed.
func TestTunnelLimits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }() // echo
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	target := "echo.test:" + port

	pol, err := newPolicy(true, []string{"echo.test"}, nil)
	require.NoError(t, err)
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, strings.Replace(address, "echo.test", "127.0.0.1", 1))
	}
	ep, err := startEgressProxy(pol, dial, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer ep.close()
	ep.tunnelIdle = 300 * time.Millisecond

	b := newBudget(context.Background())
	defer b.cancel()
	proxyURL, err := ep.listen(b)
	require.NoError(t, err)
	addr := strings.TrimPrefix(proxyURL, "http://")

	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range tunnelsPerConversion {
		c, status := tunnelTo(t, addr, target)
		require.Contains(t, status, " 200 ", "tunnel %d", i)
		open = append(open, c)
	}
	c, status := tunnelTo(t, addr, target)
	c.Close()
	assert.Contains(t, status, " 429 ", "one tunnel more than the conversion's share")

	// Another conversion is not affected.
	other := newBudget(context.Background())
	defer other.cancel()
	otherURL, err := ep.listen(other)
	require.NoError(t, err)
	c, status = tunnelTo(t, strings.TrimPrefix(otherURL, "http://"), target)
	assert.Contains(t, status, " 200 ")

	// A tunnel in use stays open past the idle timeout; an idle one is cut.
	for range 4 {
		_, err := c.Write([]byte("ping"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err, "an active tunnel stays open")
		time.Sleep(150 * time.Millisecond)
	}
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the idle tunnel was closed by the proxy")
	c.Close()

	// Closing tunnels gives the budget back.
	for _, c := range open {
		c.Close()
	}
	open = nil
	require.Eventually(t, func() bool {
		c, status := tunnelTo(t, addr, target)
		c.Close()
		return strings.Contains(status, " 200 ")
	}, 5*time.Second, 50*time.Millisecond)
}
