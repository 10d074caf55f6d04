package pdfexport

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEgressProxy(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "reached %s", r.Host)
	}))
	defer ts.Close()
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())

	pol, err := newPolicy(true, []string{"trusted.test"}, nil)
	require.NoError(t, err)
	var dialed []string
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		dialed = append(dialed, address)
		if host, p, _ := net.SplitHostPort(address); host == "trusted.test" {
			address = net.JoinHostPort("127.0.0.1", p)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	ep, err := startEgressProxy(pol, dial, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer ep.close()

	proxyURL, err := url.Parse(ep.url())
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}

	get := func(u string) (int, string) {
		resp, err := client.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("http://trusted.test:" + port + "/")
	assert.Equal(t, 200, code)
	assert.Equal(t, "reached trusted.test:"+port, body)

	for _, u := range []string{"http://127.0.0.1:" + port + "/", "http://localhost:" + port + "/", "http://[::1]:" + port + "/", "http://10.0.0.1/"} {
		code, body := get(u)
		assert.Equal(t, http.StatusForbidden, code, u)
		assert.Contains(t, body, "private-network policy", u)
	}
	assert.Equal(t, []string{"trusted.test:" + port}, dialed, "blocked destinations are never dialed")

	// CONNECT (https, WebSocket) is checked the same way.
	for _, tt := range []struct {
		target string
		want   string
	}{
		{"127.0.0.1:" + port, "403"},
		{"trusted.test:" + port, "200"},
	} {
		conn, err := net.Dial("tcp", ep.ln.Addr().String())
		require.NoError(t, err)
		fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", tt.target, tt.target)
		status, err := bufio.NewReader(conn).ReadString('\n')
		require.NoError(t, err)
		assert.True(t, strings.Contains(status, " "+tt.want+" "), "CONNECT %s: %q", tt.target, status)
		conn.Close()
	}
}
