// Package yahoo is a client of the Yahoo Finance chart API
// (/v8/finance/chart/SYMBOL): latest quotes of shares, funds, currencies and
// crypto, and daily or intraday history with splits and dividends.
//
// It handles the API's quirks: null values inside the price arrays (decoded
// through pointers and skipped — encoding/json would make them zeros), a
// missing timestamp array when there are no bars, a live last bar stamped at
// regularMarketTime, prices in pence or cents ("GBp", "ZAc", "ILA")
// converted to the main unit, and the currency taken from the payload, never
// guessed from the symbol's suffix. The API is unofficial and undocumented;
// Yahoo may throttle (HTTP 429, ErrRateLimited) or answer "Invalid Crumb" /
// "Invalid Cookie" (HTTP 401). On the latter the client fetches a session
// cookie and a crumb (/v1/test/getcrumb) once and retries with them; if that
// fails too, the error is ErrUnavailable.
package yahoo
