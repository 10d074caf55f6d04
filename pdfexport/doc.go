// Package pdfexport saves web pages as PDF through headless Chromium, driven
// over the DevTools protocol with chromedp.
//
// A [Converter] starts one Chromium with a fresh temporary profile and keeps
// it warm, with a pool of Options.PoolSize tabs, each in its own browser
// context (an incognito-like cookie jar, cache and storage). A conversion
// takes a free tab; afterwards the tab is wiped — navigated to about:blank,
// its cookies, HTTP cache and the storage of every origin the page touched
// cleared, and user agent, headers and media reset by the next conversion —
// and reused, which saves Chromium a new renderer process per page. A tab
// whose conversion failed is closed and replaced. The browser is
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
//		Paper:           pdfexport.A4,
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
// Only http and https URLs are accepted (file:, data:, javascript:, chrome:
// are rejected with ErrUnsupportedURL). With Options.DenyPrivateNetworks the
// converter intercepts every request of the browser with the DevTools Fetch
// domain at the browser level — navigations, redirects, sub-resources,
// cross-site iframes (which run in their own processes) and workers — resolves
// the host with a net.Resolver and refuses loopback, RFC 1918, CGNAT,
// link-local (169.254.169.254), unique-local, IPv4-mapped, multicast,
// reserved and unspecified addresses unless Options.AllowHosts lists the host
// or its network. Unresolvable hosts are refused too.
//
// Known limits of DenyPrivateNetworks: Chromium resolves the name again
// after the check, so a DNS server that answers differently the second time
// (DNS rebinding, with a very short TTL) can still steer a request to a
// private address; WebSocket connections are not seen by the Fetch domain.
// For hostile input, also run the converter where the private network is
// unreachable (a network namespace or an egress firewall).
//
// # Browser
//
// The browser is Options.ExecPath, else $FINKIT_CHROME, else the first of
// chromium, chromium-browser, google-chrome and google-chrome-stable on PATH
// (see [FindBrowser]). It runs headless with the flags a closed network
// needs (no background networking, component updates, sync, QUIC or first
// run UI) and with --no-sandbox only when the process runs as root.
package pdfexport
