// Package pdfexport saves web pages as PDF through headless Chromium, driven
// over the DevTools protocol with chromedp.
//
// A [Converter] starts one Chromium with a fresh temporary profile and keeps
// it warm. Every conversion runs in a new tab in a browser context of its
// own (Chromium's Target.createBrowserContext, an incognito-like profile):
// its cookies, HTTP cache, HTTP auth cache, storage and session history
// exist only for that conversion and are disposed of with the tab
// afterwards, so no page can see, or navigate back to, another user's. At
// most Options.PoolSize conversions run at once; the converter opens their
// tabs ahead of time, so a conversion rarely waits for one. The browser is
// replaced transparently when it crashes (the conversion that saw the crash
// is retried once) and after Options.RestartAfter conversions, to bound
// memory growth. Close stops Chromium, waits for every one of its processes
// and removes the profile.
//
//	conv, err := pdfexport.New(ctx, pdfexport.Options{})
//	if err != nil {
//		return err // errors.Is(err, pdfexport.ErrNoBrowser) when Chromium is missing
//	}
//	defer conv.Close()
//	pdf, err := conv.Convert(ctx, "https://example.com/report", pdfexport.PageOptions{
//		Paper:           pdfexport.A4(),
//		Margins:         pdfexport.UniformMargins(pdfexport.Millimeters(15)),
//		PrintBackground: true,
//		Wait:            pdfexport.ForNetworkIdle(),
//	})
//
// [Converter.ConvertTo] streams the PDF to an io.Writer (Chromium's
// ReturnAsStream transfer mode), and [Converter.ConvertHTML] renders an HTML
// string.
//
// # Page options
//
// [PageOptions] cover paper size (A3, A4, A5, Letter, Legal, Tabloid or any
// [PaperSize] with units, see [ParsePaperSize]), landscape, margins (always
// sent explicitly), background printing, scale, page ranges, header and
// footer templates with page numbers, CSS @page size, print or screen media,
// a wait strategy ([ForLoad], [ForNetworkIdle], [ForVisible],
// [ForExpression], [ForDelay]), a timeout, extra HTTP headers, cookies, the
// user agent and the document title.
//
// Extra headers are scoped to the origin of the page's URL (scheme, host
// and port): a page's own requests carry them, requests to third-party
// hosts and redirects to other origins do not, so an Authorization or
// Cookie header given for a report never reaches the CDN or analytics
// host the report pulls a script from. The tab intercepts its requests
// (the DevTools Fetch domain) to add them, only when there are headers.
//
// # Errors
//
// A main document with HTTP status >= 400 gives an [*HTTPStatusError]; a
// page that cannot be loaded gives a [*NavigationError] (ErrNavigation); a
// timeout wraps context.DeadlineExceeded and says what was being waited
// for. Optionally, uncaught JavaScript exceptions (ErrJSException) and failed
// sub-resources (ErrResourceFailed) fail the conversion. A failed conversion
// only closes its own tab; the browser and the pool stay usable.
//
// # Safety for server use
//
// Without Options.DenyPrivateNetworks a page can reach everything the
// server can: a URL, or an HTML document given to ConvertHTML, that comes
// from a user can load http://127.0.0.1/, the cloud metadata service
// (169.254.169.254, 168.63.129.16) or anything on the private network and
// print it. The default is kept for apps that print their own pages on
// localhost; set DenyPrivateNetworks whenever URLs or HTML come from users.
//
// Only http and https URLs are accepted (file:, data:, javascript:, chrome:
// are rejected with ErrUnsupportedURL), and none with credentials
// (user:password@). Options.DenyPrivateNetworks adds two layers against
// server-side request forgery:
//
//   - The DevTools Fetch domain, enabled at the browser level, intercepts
//     every request of every tab, iframe (also the out-of-process cross-site
//     ones), worker and redirect hop. Requests to literal addresses,
//     localhost names and allow-listed hosts are decided at once; the host
//     of a request from a page's main frame is resolved with a net.Resolver
//     and refused when any address is loopback, RFC 1918, CGNAT, link-local
//     (169.254.169.254), unique-local, IPv4-mapped, multicast, reserved or
//     unspecified, unless Options.AllowHosts lists the host or its network.
//     Unresolvable hosts are refused (fail closed). A refused main document
//     gives ErrBlockedURL.
//   - Every conversion's browser context sends all its traffic (also to
//     loopback, with the bypass list <-loopback>) through an egress proxy
//     inside the converter, on a listener of its own. The proxy checks the
//     destination of every request — also those of iframes and shared or
//     service workers, which the interception leaves to it — and connects
//     to exactly the address it approved, so DNS rebinding — a name that
//     resolves to a public address for the check and to a private one for
//     the connection — does not work, and WebSocket handshakes, which the
//     Fetch domain never sees, are checked too.
//
// Each conversion has its own budget of DNS lookups (8 at a time) at both
// layers, and the proxy knows which conversion a request comes from by the
// listener it arrives on, so a page whose names never resolve delays only
// itself, never another user's conversion. A conversion may have 32
// CONNECT tunnels (https, WebSocket) open at once; they are cut when its
// tab closes, and after two minutes without traffic.
//
// A PDF is capped at Options.MaxPDFBytes (100 MiB by default;
// ErrPDFTooLarge), errors and logs show URLs without their query strings,
// and the profile directories of a converter killed without Close are
// removed by the next New on the machine. Not limited: the memory one
// renderer may allocate, and which local processes may use the egress
// proxy's listeners (they only lead where the policy allows).
//
// For hostile input, still run the converter where the private network is
// unreachable if you can (network namespace, egress firewall): defence in
// depth. WebRTC is limited to proxied connections
// (--webrtc-ip-handling-policy=disable_non_proxied_udp), so it sends no
// UDP around the proxy.
//
// # Browser
//
// The browser is Options.ExecPath, else $FINKIT_CHROME, else the first of
// chromium, chromium-browser, google-chrome and google-chrome-stable on PATH
// (see [FindBrowser]). It runs headless with the flags a closed network
// needs (no background networking, component updates, sync, QUIC or first
// run UI) and with --no-sandbox only when the process runs as root.
package pdfexport
