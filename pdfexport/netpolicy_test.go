package pdfexport

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"http://example.com", "https://example.com/a?b=c#d", "HTTP://EXAMPLE.COM/", "http://127.0.0.1:8080/x", "http://[::1]/"} {
		_, err := checkURL(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"file:///etc/passwd", "data:text/html,x", "javascript:alert(1)", "chrome://settings", "about:blank",
		"ws://example.com", "ftp://example.com", "", "example.com", "/path", "http://", "http:///x", "%zz",
		"http://u1:pw1@example.com/auth", "https://user@example.com/", "http://@example.com/", "http://:pw@example.com/", "HTTP://U:P@EXAMPLE.COM"} {
		_, err := checkURL(bad)
		assert.ErrorIs(t, err, ErrUnsupportedURL, bad)
		if err != nil && strings.Contains(bad, "@") {
			assert.NotContains(t, err.Error(), "pw", "the error repeats the credentials")
		}
	}
}

func TestIsBlockedAddr(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "168.63.129.16", "100.64.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "255.255.255.255", "240.0.0.1",
		"::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8", "ff02::1",
		"64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::", "2002:c0a8:101::1", "fe80::1%eth0",
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "192.169.0.1", "100.128.0.1", "168.63.129.17",
		"2606:4700:4700::1111", "2a00:1450:4001::200e", "64:ff9b::808:808", "2002:808:808::1"}
	for _, s := range blocked {
		assert.True(t, isBlockedAddr(netip.MustParseAddr(s)), s)
	}
	for _, s := range allowed {
		assert.False(t, isBlockedAddr(netip.MustParseAddr(s)), s)
	}
	assert.True(t, isBlockedAddr(netip.Addr{}), "the zero Addr")
}

// TestBlockedRangesProperty samples random addresses inside every private
// IPv4 range and checks they are all blocked, also in mapped forms.
func TestBlockedRangesProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, cidr := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10"} {
		p := netip.MustParsePrefix(cidr)
		base := p.Addr().As4()
		for range 200 {
			v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
			v |= r.Uint32() & (1<<(32-p.Bits()) - 1)
			a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			require.True(t, p.Contains(a))
			assert.True(t, isBlockedAddr(a), a.String())
			assert.True(t, isBlockedAddr(netip.AddrFrom16(a.As16())), "mapped %s", a)
			b := a.As4()
			nat64 := netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, b[0], b[1], b[2], b[3]})
			assert.True(t, isBlockedAddr(nat64), "NAT64 %s", nat64)
		}
	}
}

func TestPolicy(t *testing.T) {
	// A resolver that reaches no DNS server: names fail fast, like an
	// unknown name would.
	noDNS := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, errors.New("no DNS in this test")
	}}
	p, err := newPolicy(true, []string{"Reports.Internal", "*.corp.example", "10.1.0.0/16", "192.168.5.5", "[fd00::1]"}, noDNS)
	require.NoError(t, err)
	ctx := context.Background()
	tests := []struct {
		url     string
		allowed bool
	}{
		{"http://reports.internal/x", true}, // allow-listed by name, not resolved
		{"http://REPORTS.INTERNAL./x", true},
		{"http://a.b.corp.example/", true},
		{"http://corp.example/", false}, // the wildcard covers sub-domains only; this one does not resolve
		{"http://10.1.2.3/", true},
		{"http://10.2.0.1/", false},
		{"http://192.168.5.5/", true},
		{"http://192.168.5.6/", false},
		{"http://[fd00::1]/", true},
		{"http://[fd00::2]/", false},
		{"http://127.0.0.1/", false},
		{"http://localhost/", false},
		{"http://app.localhost/", false},
		{"http://8.8.8.8/", true},
		{"https://1.1.1.1:8443/", true},
		{"ws://127.0.0.1/", false},
		{"file:///etc/passwd", false},
		{"gopher://8.8.8.8/", false},
		{"http://name.invalid/", false}, // cannot be resolved: fail closed
	}
	for _, tt := range tests {
		err := p.check(ctx, tt.url)
		if tt.allowed {
			assert.NoError(t, err, tt.url)
		} else {
			assert.ErrorIs(t, err, ErrBlockedURL, tt.url)
		}
	}

	// Without DenyPrivateNetworks everything passes.
	open, err := newPolicy(false, nil, nil)
	require.NoError(t, err)
	assert.NoError(t, open.check(ctx, "http://127.0.0.1/"))
}

func FuzzPolicyCheck(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1/", "http://[::ffff:7f00:1]/", "http://0x7f000001/", "http://2130706433/", "http://[fe80::1%25eth0]/", "http://017700000001/"} {
		f.Add(s)
	}
	p, err := newPolicy(true, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := checkURL(raw)
		if err != nil {
			return
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && isBlockedAddr(a) {
			if p.check(context.Background(), raw) == nil {
				t.Fatalf("%q reaches the blocked address %s", raw, a)
			}
		}
	})
}
