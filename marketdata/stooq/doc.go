// Package stooq is a client of Stooq's CSV endpoints: latest quotes of many
// symbols in one request (/q/l/) and daily history (/q/d/l/).
//
// Symbols are given in Yahoo notation and mapped to Stooq's: "AAPL" →
// "aapl.us", "SAP.DE" → "sap.de", "7203.T" → "7203.jp", "EURUSD=X" →
// "eurusd". Stooq's CSV has no currency column, so the currency comes from
// the market (us → USD, de → EUR, jp → JPY, hk → HKD; a pair's quote
// currency); other markets and crypto are reported as ErrUnsupported.
// Unknown symbols come back as "N/D" rows (ErrNotFound); the daily hit limit
// is announced in a 200 response ("Exceeded the daily hits limit"), reported
// as ErrRateLimited.
package stooq
