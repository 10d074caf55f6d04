package securechat

import (
	"net/netip"
	"net/url"
	"testing"
)

// checkRelayURL fails when splitRelayURL (the js build's parser) accepts
// raw differently from url.Parse (the native build's).
func checkRelayURL(t *testing.T, raw string) (ok bool) {
	t.Helper()
	scheme, host, hostname, ok := splitRelayURL(raw)
	if !ok {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%q: splitRelayURL accepts what url.Parse refuses: %v", raw, err)
	}
	if scheme != u.Scheme || host != u.Host || hostname != u.Hostname() {
		t.Fatalf("%q: splitRelayURL gives %q %q %q, url.Parse %q %q %q", raw, scheme, host, hostname, u.Scheme, u.Host, u.Hostname())
	}
	return true
}

func TestSplitRelayURL(t *testing.T) {
	for _, c := range []struct {
		raw string
		ok  bool
	}{
		{"wss://chat.example.com/chat/ws", true},
		{"WSS://Chat.Example.com:8443/chat/ws?x=1#f", true},
		{"ws://127.0.0.1:34567/chat/ws", true},
		{"ws://[::1]:8080/chat/ws", true},
		{"https://example.com", true},
		{"ws://localhost", true},
		{"", false},
		{"chat.example.com/chat/ws", false},
		{"://example.com", false},
		{"1ws://example.com", false},
		{"wss://", false},
		{"wss://:443/x", false},
		{"wss://exa mple.com/", false},
		{"wss://user:pw@example.com/", false},
		{"wss://example.com:44a3/", false},
		{"wss://[::1/", false},
		{"wss://[]/", false},
		{"wss://[0]/", false},
		{"wss://[1:2:3:4:5:6:7:8]:9/", true},
		{"wss://[1::2::3]/", false},
		{"wss://[::]/", true},
		{"wss://[fe80::1%25eth0]/", false},
		{"wss://example.com/a b", false},
		{"wss://example.com/%zz", false},
		{"wss://ex\x00ample.com/", false},
	} {
		if got := checkRelayURL(t, c.raw); got != c.ok {
			t.Errorf("%q: accepted %v, want %v", c.raw, got, c.ok)
		}
	}
}

func FuzzSplitRelayURL(f *testing.F) {
	for _, s := range []string{"wss://a.b:1/c?d#e", "ws://[::1]:80/", "http://x_y-z.", "ws://h:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) { checkRelayURL(t, raw) })
}

// isLoopbackName (js build) accepts only hosts the native netip test
// calls loopback, and the ones a browser page's relay URL has.
func TestIsLoopbackName(t *testing.T) {
	for _, c := range []struct {
		host string
		want bool
	}{
		{"localhost", true}, {"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"128.0.0.1", false}, {"127.0.0.256", false}, {"127.0.0.01", false}, {"127.0.0", false},
		{"127.0.0.1.", false}, {"127.+1.0.1", false}, {"example.com", false}, {"", false}, {"::2", false},
	} {
		if got := isLoopbackName(c.host); got != c.want {
			t.Errorf("isLoopbackName(%q) = %v, want %v", c.host, got, c.want)
		}
	}
}

func FuzzIsLoopbackName(f *testing.F) {
	f.Add("127.0.0.1")
	f.Add("::1")
	f.Fuzz(func(t *testing.T, host string) {
		if !isLoopbackName(host) || host == "localhost" {
			return
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.IsLoopback() {
			t.Fatalf("isLoopbackName(%q) but netip does not call it loopback", host)
		}
	})
}
