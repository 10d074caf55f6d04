// Package marketdata is finkit's "stock price checker": it asks several
// quote, FX and crypto data sources at once, merges what comes back into one
// trustworthy answer, and computes how prices moved over time.
//
// # Providers
//
// Each data source is a subpackage with a real client of a real public API:
// yahoo (chart API: quotes, history, splits, dividends), stooq (CSV quotes
// and daily history), ecb (euro reference rates), frankfurter (FX JSON),
// coingecko (crypto), alphavantage, finnhub and norgesbank (NOK rates), plus
// sim, an offline seeded simulator that is the default for demos and tests.
// They implement the small interfaces [Provider], [BatchProvider],
// [RateProvider] and [HistoryProvider] defined here.
//
// Symbols are written the way Yahoo Finance writes them, and each provider
// maps them to its own notation: "AAPL" (US share), "EQNR.OL" (Oslo),
// "BTC-USD" (crypto against a currency), "EURUSD=X" (currency pair).
//
// # Aggregator
//
// An [Aggregator] fans out to all providers for all requested symbols at once
// (errgroup with a limit, one batch call per provider where the API allows,
// a per-provider timeout inside an overall deadline) and returns whatever
// arrived in time together with a per-provider error list. For each symbol it
// computes a consensus price (median of fresh quotes, after converting
// currencies through FX), the spread between sources, outlier and stale
// flags. A TTL cache, singleflight, per-provider rate limiters and daily
// quotas, and a circuit breaker protect both the free APIs and the caller.
// [Aggregator.Watch] streams updates for a live dashboard (and
// [Aggregator.StreamHandler] serves them as Server-Sent Events),
// [Aggregator.FXRate] asks rate providers with hedging (the next one is asked
// when the first has not answered within its usual latency), and
// [Aggregator.History] fetches bars from the first history provider that
// answers. The Aggregator satisfies portfolio.PriceSource and
// portfolio.RateSource.
//
// # Statistics
//
// [Analyze] answers "how much did it go up or down?" for a series of daily
// [Bar] values: changes over standard periods, up/down day counts, streaks,
// volatility, drawdown, CAGR and Sharpe, without allocating. [SMA], [EMA],
// [RSI], [Bollinger], [Returns], [LogReturns] and [ReturnHistogram] compute
// indicators. Prices booked into a ledger are decimal elsewhere in finkit;
// series and statistics here are float64.
package marketdata
