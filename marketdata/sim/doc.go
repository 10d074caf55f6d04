// Package sim is an offline, seeded market-data provider: a simulated market
// whose every price is a pure function of a seed, a start day, the symbol
// and the instant, so a dashboard shows moving quotes with no network and no
// API keys, tests get reproducible numbers, and every program built on the
// same market sees the same price at the same instant. Latency, an error
// rate, noise and outages are configurable per provider, so the
// Aggregator's timeouts, consensus, partial results and circuit breaker can
// be exercised without real servers.
//
// It knows realistic symbols in Yahoo notation — US and European shares
// (AAPL, MSFT, EQNR.OL, SAP.DE, HSBA.L, …), crypto (BTC-USD, ETH-USD, …) and
// currency pairs (EURUSD=X, USDNOK=X, …) — each with a currency, a starting
// price, a drift and a volatility. With Options.AllSymbols it also invents a
// stable price for any other well-formed stock symbol.
//
// # The default market
//
// Default returns the options of the one market the finkit dashboard (its
// quote sources, its history, its demo portfolio) and the finkit command
// line share: seed DefaultSeed, first day DefaultStart. Build every provider
// from it and add only latency, jitter, errors or noise:
//
//	o := sim.Default("sim-eu")
//	o.Latency, o.Noise = 25*time.Millisecond, 0.0008
//	p, err := sim.New(o)
//
// # The model
//
// Each instrument follows a geometric Brownian motion (its Drift and Vol)
// over its trading days: weekdays for shares and currencies (252 a year),
// every day for crypto (365 a year; Instrument.TradingDaysPerYear). A day's
// log return is a normal draw hashed from the seed, the symbol and the day,
// so the close of a day does not depend on which days were computed
// before, and History returns the same close for a day in every range that
// holds it. Within a trading day the price is a Brownian bridge from the
// previous close to the day's close, evaluated at any instant by halving
// the day (each midpoint hashed from its position), so a quote at the end
// of a day is that day's close and the bar of a day still trading closes
// at the current quote. On a day without trading the price stays at the
// last close. The volatility of the daily closes, annualised over the
// asset's trading days (marketdata.StatsOptions.TradingDays), is the
// instrument's Vol.
//
// Currency pairs are the ratio of two currency paths against USD (EURNOK is
// exactly EURUSD × USDNOK), and a coin quoted in another currency is its
// USD price converted (BTC-EUR is BTC-USD ÷ EURUSD).
package sim
