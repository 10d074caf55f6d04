// Package coingecko is a client of CoinGecko's simple price API
// (/simple/price?ids=bitcoin,ethereum&vs_currencies=usd,eur): many coins
// against many currencies in one request.
//
// Symbols in Yahoo notation ("BTC-USD", "ETH-EUR") are mapped to CoinGecko
// coin ids through a table of common coins, which Options.Coins extends.
// A demo or pro API key is sent in the x-cg-demo-api-key (or
// x-cg-pro-api-key) header. The free API allows a few calls per minute; a 429
// answer carries Retry-After and a JSON status object, reported as
// ErrRateLimited.
package coingecko
