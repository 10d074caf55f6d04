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
// computes a consensus under the trust model below. A cache, per-symbol
// fetch sharing, per-provider rate limiters and daily quotas, and a circuit
// breaker protect both the free APIs and the caller. The cache serves
// stale while it revalidates: a consensus is fresh for Options.CacheTTL,
// and for Options.MaxStale after that it is still served at once while one
// background fetch refreshes it, so a refresh never holds a request; every
// Merged records when it was fetched and its Age, and Revalidating says a
// refresh is under way. [Result.Fetch] gives the fan-out's own timings:
// the wall time of the parallel calls and the sum of their latencies, what
// asking the providers one after another would have taken.
//
// Prices and rates become money in one place, [ToDecimal] (rounded to
// [SignificantDigits]); [HistoryPrices] turns daily histories into the
// prices at past dates a valuation over time needs (portfolio.PriceHistory).
// [Aggregator.Watch] streams updates for a live dashboard (and
// [Aggregator.StreamHandler] serves them as Server-Sent Events),
// [Aggregator.FXQuote] and [Aggregator.FXRate] merge every rate provider's
// answer under the same trust model, and [Aggregator.History] fetches bars
// from the first history provider that answers. The Aggregator satisfies
// portfolio.PriceSource and portfolio.RateSource.
//
// # Trust model
//
// A merged price is only as good as the agreement behind it, so every
// [Merged] quote (and every rate) carries a [Confidence]:
//
//  1. Every value from a provider is checked before any arithmetic: a price
//     must be finite and within [MinPrice, MaxPrice], a rate within
//     [MinRate, MaxRate], a converted price again within the price range,
//     and a market time between 1970 and [MaxClockSkew] ahead of the clock.
//     A source that fails is kept in Merged.Sources with an Error and is not
//     counted; nothing on this path can panic or produce an infinity.
//  2. A quote older than MaxAge, or without a market time, is stale. Only
//     fresh quotes are counted; when none is fresh the stale ones are (the
//     dated before the undated), and the confidence is low.
//  3. Sources that share an upstream ([Upstreamer]: two mirrors of one site,
//     or Frankfurter republishing the ECB reference rates) count once.
//  4. The price is the median of the largest group of counted sources that
//     agree within the tolerance (Options.OutlierThreshold, default 2 %) of
//     one of them. Sources outside the group are outliers. Two sources that
//     disagree are never averaged: without a strict majority the best guess
//     is the group with the newest quote.
//  5. The spread covers every usable source of the counted tier, outliers
//     included, so disagreement is always visible.
//
// The levels are [ConfidenceHigh] (two or more independent sources, all
// agreeing), [ConfidenceMajority] (a strict majority agrees),
// [ConfidenceSingle] (one independent source) and [ConfidenceLow] (no
// majority, or only stale data); Merged.Reason says why. [Aggregator.Price]
// and [Aggregator.Rate] — what a portfolio valuation uses — fail with
// [ErrLowConfidence] (a [*LowConfidenceError] carrying the Merged detail,
// reachable with errors.As) when the confidence is low, unless the caller
// opts into the best guess through [Aggregator.BestGuess]. A quote in
// another currency is converted only through a trusted rate. Quote,
// Quotes and FXRate return low-confidence values with a nil error, for
// display next to their confidence.
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
