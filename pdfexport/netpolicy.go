package pdfexport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// checkURL accepts only absolute http and https URLs with a host and
// without userinfo: credentials in a URL would land in the browser's HTTP
// auth cache, and they are a secret that does not belong in a URL anyway.
func checkURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%w: empty URL", ErrUnsupportedURL)
	}
	// The messages never quote raw: a refused URL can still carry
	// credentials or a token (in its path, query or a malformed authority).
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q: only http and https URLs are allowed", ErrUnsupportedURL, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: the URL has no host", ErrUnsupportedURL)
	}
	if u.User != nil {
		// The message leaves the URL out: it holds the credentials.
		return nil, fmt.Errorf("%w: a URL with credentials (user:password@) is not accepted; send them as a header (PageOptions.Headers)", ErrUnsupportedURL)
	}
	return u, nil
}

// blockedPrefixes are the address ranges DenyPrivateNetworks refuses.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network", includes 0.0.0.0
	netip.MustParsePrefix("10.0.0.0/8"),         // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT, often internal in clouds
	netip.MustParsePrefix("168.63.129.16/32"),   // Azure WireServer (platform metadata and agent channel)
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),      // RFC 1918
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),       // documentation
	netip.MustParsePrefix("192.168.0.0/16"),     // RFC 1918
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"),    // documentation
	netip.MustParsePrefix("203.0.113.0/24"),     // documentation
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, broadcast
	netip.MustParsePrefix("::/128"),             // unspecified
	netip.MustParsePrefix("::1/128"),            // loopback
	netip.MustParsePrefix("::ffff:0:0/96"),      // IPv4-mapped
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64
	netip.MustParsePrefix("100::/64"),           // discard
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("fc00::/7"),           // unique local
	netip.MustParsePrefix("fe80::/10"),          // link-local
	netip.MustParsePrefix("fec0::/10"),          // deprecated site-local
	netip.MustParsePrefix("ff00::/8"),           // multicast
	netip.MustParsePrefix("2002::/16"),          // 6to4: checked by its embedded IPv4 below
	netip.MustParsePrefix("64:ff9b::/96"),       // NAT64: checked by its embedded IPv4 below
	netip.MustParsePrefix("::/96"),              // deprecated IPv4-compatible
	netip.MustParsePrefix("2001::/32"),          // Teredo, can tunnel to anything
	netip.MustParsePrefix("2001:10::/28"),       // ORCHID
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// isBlockedAddr reports whether addr is in a range DenyPrivateNetworks refuses.
// NAT64 and 6to4 addresses are judged by the IPv4 address they embed, so a
// public IPv4 reached through NAT64 stays allowed.
func isBlockedAddr(addr netip.Addr) bool {
	if !addr.IsValid() {
		return true
	}
	addr = addr.WithZone("")
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64Prefix.Contains(addr):
			return isBlockedAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(addr):
			return isBlockedAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// policy is the private-network policy of a converter. It is safe for
// concurrent use.
type policy struct {
	deny      bool
	hosts     map[string]bool // exact host names, lower case
	suffixes  []string        // ".corp.example" for "*.corp.example"
	prefixes  []netip.Prefix  // allowed address ranges
	resolver  *net.Resolver
	cacheTTL  time.Duration
	mu        sync.Mutex
	cache     map[string]cachedVerdict
	maxCached int
}

type cachedVerdict struct {
	addrs   []netip.Addr
	err     error
	expires time.Time
}

func newPolicy(deny bool, allow []string, r *net.Resolver) (*policy, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	p := &policy{deny: deny, hosts: map[string]bool{}, resolver: r, cacheTTL: 10 * time.Second,
		cache: map[string]cachedVerdict{}, maxCached: 1024}
	for _, e := range allow {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
			return nil, fmt.Errorf("%w: empty AllowHosts entry", ErrInvalidOption)
		case strings.Contains(e, "/"):
			pr, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("%w: AllowHosts entry %q: %v", ErrInvalidOption, e, err)
			}
			p.prefixes = append(p.prefixes, pr.Masked())
		case strings.HasPrefix(e, "*."):
			if len(e) < 4 || strings.Contains(e[2:], "*") {
				return nil, fmt.Errorf("%w: AllowHosts entry %q", ErrInvalidOption, e)
			}
			p.suffixes = append(p.suffixes, e[1:])
		default:
			if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			if strings.ContainsAny(e, "*:/ ") {
				return nil, fmt.Errorf("%w: AllowHosts entry %q is not a host, IP or CIDR", ErrInvalidOption, e)
			}
			p.hosts[strings.TrimSuffix(e, ".")] = true
		}
	}
	return p, nil
}

func (p *policy) hostAllowed(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if p.hosts[host] {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

func (p *policy) addrAllowed(a netip.Addr) bool {
	if !isBlockedAddr(a) {
		return true
	}
	for _, pr := range p.prefixes {
		if pr.Contains(a.Unmap()) || pr.Contains(a) {
			return true
		}
	}
	return false
}

// check returns nil when a request to rawURL is allowed, or an error that
// wraps ErrBlockedURL. Only http(s) and ws(s) URLs can be allowed. Its DNS
// lookups are not limited by a budget.
func (p *policy) check(ctx context.Context, rawURL string) error {
	if !p.deny {
		return nil
	}
	host, err := urlHost(rawURL)
	if err != nil {
		return err
	}
	return p.checkHost(ctx, host)
}

// urlHost returns the host of rawURL, or an error wrapping ErrBlockedURL
// when it is not an http(s) or ws(s) URL.
func urlHost(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBlockedURL, err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return "", fmt.Errorf("%w: scheme %q", ErrBlockedURL, u.Scheme)
	}
	return u.Hostname(), nil
}

// checkHost resolves host and refuses it when any of its addresses is
// blocked. A host that cannot be resolved is refused too (fail closed).
func (p *policy) checkHost(ctx context.Context, host string) error {
	_, _, err := p.vet(ctx, host, nil)
	return err
}

// verdict is the outcome of vetting a host: the addresses that passed, or
// byName when the host is allow-listed by name, or the refusal.
type verdict struct {
	addrs  []netip.Addr
	byName bool
	err    error
}

// known decides host without a DNS lookup when it can: an empty,
// allow-listed, literal-address or loopback name, or a cached verdict.
// Otherwise ok is false and name is the host to resolve.
func (p *policy) known(host string) (v verdict, name string, ok bool) {
	if host == "" {
		return verdict{err: fmt.Errorf("%w: no host", ErrBlockedURL)}, "", true
	}
	if p.hostAllowed(host) {
		return verdict{byName: true}, "", true
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if !p.addrAllowed(a) {
			return verdict{err: fmt.Errorf("%w: %s is a private or reserved address", ErrBlockedURL, host)}, "", true
		}
		return verdict{addrs: []netip.Addr{a.WithZone("")}}, "", true
	}
	name = strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		// Chromium resolves these to loopback without asking DNS.
		return verdict{err: fmt.Errorf("%w: %s is a loopback name", ErrBlockedURL, host)}, "", true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, hit := p.cache[name]; hit && time.Now().Before(c.expires) {
		return verdict{addrs: c.addrs, err: c.err}, name, true
	}
	return verdict{}, name, false
}

// vet checks host and returns the addresses that passed, or byName when the
// host is allow-listed by name (then it is not resolved and addrs is nil).
// Connecting to exactly these addresses, and not resolving the name again,
// is what makes the check immune to DNS rebinding. A lookup waits for a
// token of b (see budget), so one page's slow names cannot hold up
// another's.
func (p *policy) vet(ctx context.Context, host string, b *budget) (addrs []netip.Addr, byName bool, err error) {
	v, name, ok := p.known(host)
	if ok {
		return v.addrs, v.byName, v.err
	}
	release, err := b.lookup(ctx)
	if err != nil {
		return nil, false, err
	}
	defer release()
	if v, _, ok := p.known(host); ok {
		return v.addrs, v.byName, v.err // resolved while this lookup waited
	}
	now := time.Now()
	addrs, err = p.resolve(ctx, name)
	if ctx.Err() != nil {
		return addrs, false, err // do not cache a verdict cut short by cancellation
	}
	p.mu.Lock()
	if len(p.cache) >= p.maxCached {
		clear(p.cache)
	}
	p.cache[name] = cachedVerdict{addrs: addrs, err: err, expires: now.Add(p.cacheTTL)}
	p.mu.Unlock()
	return addrs, false, err
}

func (p *policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := p.resolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot resolve %s: %v", ErrBlockedURL, host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: %s has no addresses", ErrBlockedURL, host)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		// The resolver may hand IPv4 answers back as IPv4-mapped IPv6;
		// the connection goes to the IPv4 address, so judge that.
		a = a.Unmap().WithZone("")
		if !p.addrAllowed(a) {
			return nil, fmt.Errorf("%w: %s resolves to the private or reserved address %s", ErrBlockedURL, host, a)
		}
		out = append(out, a)
	}
	return out, nil
}
