// Package sim is an offline, seeded market-data provider: prices follow a
// geometric Brownian motion per symbol in wall-clock (or injected) time, so a
// dashboard shows moving quotes with no network and no API keys, and tests
// get reproducible numbers for a seed. Latency, an error rate and outages are
// configurable, so the Aggregator's timeouts, partial results and circuit
// breaker can be exercised without real servers.
//
// It knows realistic symbols in Yahoo notation — US and European shares
// (AAPL, MSFT, EQNR.OL, SAP.DE, HSBA.L, …), crypto (BTC-USD, ETH-USD, …) and
// currency pairs (EURUSD=X, USDNOK=X, …) — each with a currency, a starting
// price, a drift and a volatility. With Options.AllSymbols it also invents a
// stable price for any other well-formed stock symbol.
package sim
