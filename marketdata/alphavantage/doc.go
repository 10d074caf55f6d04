// Package alphavantage is a client of the Alpha Vantage API
// (/query?function=GLOBAL_QUOTE and TIME_SERIES_DAILY) for US shares.
//
// The API key comes from Options.APIKey or the ALPHAVANTAGE_API_KEY
// environment variable. Numbers arrive as strings ("112.1300"). Alpha
// Vantage reports rate limits with HTTP 200 and a "Note" or "Information"
// message (the free key allows 25 requests per day); both become
// ErrRateLimited. An unknown symbol yields an empty "Global Quote" object or
// an "Error Message" (ErrNotFound). Use DefaultLimit with the Aggregator to
// stay inside the free quota.
package alphavantage
