// Package finnhub is a client of Finnhub's quote API (/api/v1/quote) for US
// shares and, through OANDA symbols, currency pairs.
//
// The API key comes from Options.APIKey or the FINNHUB_API_KEY environment
// variable and is sent in the X-Finnhub-Token header, never in the URL.
// Finnhub answers an unknown symbol with an all-zero quote; that is reported
// as ErrNotFound, not as a price of 0. The free plan allows 60 calls per
// minute (DefaultLimit); a 429 is ErrRateLimited.
package finnhub
