package pdfexport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDNS returns a resolver whose name server answers every name under
// .good.test with the public-looking address 93.184.215.14 and never
// answers anything else, as a hostile domain's name servers can. The
// converter's Dial hook sends connections to that address to the test
// server.
func fakeDNS(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := dnsAnswer(buf[:n]); reply != nil {
				_, _ = pc.WriteTo(reply, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp4", pc.LocalAddr().String())
	}}
}

// dnsAnswer answers a one-question DNS query for a name under .good.test:
// an A record for an A query, no records for any other type. It returns
// nil (no answer at all) for other names.
func dnsAnswer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		n := int(q[i])
		if i+1+n > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+n]))
		i += 1 + n
	}
	if i+5 > len(q) || !strings.HasSuffix(strings.ToLower(strings.Join(labels, ".")), ".good.test") {
		return nil
	}
	question := q[12 : i+5] // name, type, class
	isA := q[i+1] == 0 && q[i+2] == 1
	out := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, question...)
	if isA {
		out[7] = 1 // one answer
		out = append(out, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 215, 14)
	}
	return out
}

// TestSlowDNSStallsOnlyItsOwnConversion: a page that makes hundreds of
// requests to names whose DNS never answers, from its main frame or from a
// cross-site iframe, must not delay another user's conversion, even one
// whose page (and iframe) needs DNS lookups of its own.
func TestSlowDNSStallsOnlyItsOwnConversion(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	var port string // of the test server, set once it runs
	flooding := make(chan string, 10)
	flood := func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString("<p>flood</p>")
		for i := range 300 {
			fmt.Fprintf(&b, `<img src="http://%s-%d.never.test/x.png">`, r.URL.Query().Get("tag"), i)
		}
		fmt.Fprint(w, b.String())
		flooding <- r.URL.Query().Get("tag")
	}
	mux.HandleFunc("/flood", flood)
	mux.HandleFunc("/flood-frame", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<p>outer</p><iframe src="http://evil.good.test:%s/flood?tag=%s"></iframe>`, port, r.URL.Query().Get("tag"))
	})
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		tag := r.URL.Query().Get("tag")
		fmt.Fprintf(w, `<p>VICTIM REPORT</p><img src="http://cdn-%[1]s.good.test:%[2]s/logo.png">
			<iframe src="http://frame-%[1]s.good.test:%[2]s/inner?tag=%[1]s"></iframe>`, tag, port)
	})
	mux.HandleFunc("/inner", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<p>inner</p><img src="http://img-%s.good.test:%s/logo.png">`, r.URL.Query().Get("tag"), port)
	})
	mux.HandleFunc("/logo.png", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	ts := httptest.NewServer(mux)
	defer ts.Close()
	port = ts.URL[strings.LastIndexByte(ts.URL, ':')+1:]

	c := newConverter(t, Options{
		PoolSize:            2,
		DenyPrivateNetworks: true,
		AllowHosts:          []string{"public.test"},
		Resolver:            fakeDNS(t),
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if host, p, err := net.SplitHostPort(address); err == nil && (host == "public.test" || host == "93.184.215.14") {
				address = net.JoinHostPort("127.0.0.1", p)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
	})
	public := "http://public.test:" + port
	victim := func(tag string, timeout time.Duration) time.Duration {
		start := time.Now()
		pdf, err := c.Convert(testCtx(t), public+"/report?tag="+tag, PageOptions{Wait: ForNetworkIdle(), Timeout: timeout})
		took := time.Since(start)
		require.NoError(t, err, "the victim's conversion (after %s)", took)
		assert.Contains(t, pdfText(t, pdf, 0), "VICTIM REPORT")
		return took
	}
	// Warm up, then the baseline: the victim's page with no flood.
	victim("warm", 0)
	base := victim("base", 0)

	for _, attack := range []string{"/flood", "/flood-frame"} {
		t.Run(attack, func(t *testing.T) {
			tag := strings.Trim(attack, "/")
			// The flood's 300 lookups of 5s each would hold shared
			// lookup slots for far longer than the victim's timeout.
			actx, stop := context.WithCancel(context.Background())
			attacker := make(chan error, 1)
			go func() {
				_, err := c.Convert(actx, public+attack+"?tag="+tag, PageOptions{Wait: ForNetworkIdle(), Timeout: 40 * time.Second})
				attacker <- err
			}()
			defer func() { stop(); <-attacker }()
			select {
			case <-flooding:
			case <-time.After(30 * time.Second):
				t.Fatal("the flooding page never loaded")
			}
			time.Sleep(time.Second) // its lookups are under way
			took := victim(tag, 15*time.Second)
			t.Logf("victim's conversion: %s during the flood from %s, %s without a flood", took, attack, base)
		})
	}
}
