// Package demo writes the dashboard's demo portfolio (transactions.csv, the
// file the dashboard loads for a new user and `finkit portfolio import`
// reads) from the simulated market both of them price with: every buy and
// sell is booked at its instrument's close on its date in sim.Default's
// market, every foreign-currency row at that day's simulated exchange rate,
// so the demo's purchases match the prices every page shows.
//
// The file is generated and committed (go generate ./examples/dashboard/demo)
// rather than priced when it is loaded: it stays a plain transaction file
// with real numbers, the same bytes for the dashboard and the CLI, readable
// and diffable; a test fails when it no longer matches the market.
package demo

//go:generate go run ./gen

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/portfolio"
)

// row is one planned transaction: everything but the market's numbers.
type row struct {
	date     string
	account  string
	kind     portfolio.TxKind
	symbol   string
	quantity string
	currency string // of the trade, when not the account's (USD)
	fee      string // a fixed fee in the trade currency…
	feePct   string // …or a percentage of the notional
	perShare string // a dividend per share
	tax      string
	amount   string // cash kinds
	note     string
}

// plan is the demo's story; Transactions prices it.
func plan() []row {
	return []row{
		{date: "2025-01-02", account: "savings", kind: portfolio.TxDeposit, amount: "12000", note: "emergency fund"},
		{date: "2025-01-03", account: "broker", kind: portfolio.TxDeposit, amount: "50000", note: "initial funding"},
		{date: "2025-01-03", account: "crypto", kind: portfolio.TxDeposit, amount: "8000"},
		{date: "2025-01-06", account: "broker", kind: portfolio.TxBuy, symbol: "AAPL", quantity: "40", fee: "1.00"},
		{date: "2025-01-06", account: "broker", kind: portfolio.TxBuy, symbol: "MSFT", quantity: "20", fee: "1.00"},
		{date: "2025-01-08", account: "broker", kind: portfolio.TxBuy, symbol: "SPY", quantity: "25", fee: "1.00", note: "core index holding"},
		{date: "2025-01-08", account: "crypto", kind: portfolio.TxBuy, symbol: "BTC-USD", quantity: "0.05", feePct: "0.1"},
		{date: "2025-01-08", account: "crypto", kind: portfolio.TxBuy, symbol: "ETH-USD", quantity: "0.8", feePct: "0.1"},
		{date: "2025-01-15", account: "broker", kind: portfolio.TxBuy, symbol: "EQNR.OL", quantity: "150", currency: "NOK", fee: "29"},
		{date: "2025-02-03", account: "broker", kind: portfolio.TxBuy, symbol: "SAP.DE", quantity: "15", currency: "EUR", fee: "5"},
		{date: "2025-02-20", account: "broker", kind: portfolio.TxBuy, symbol: "NVDA", quantity: "30", fee: "1.00"},
		{date: "2025-03-04", account: "broker", kind: portfolio.TxDividend, symbol: "EQNR.OL", quantity: "150", currency: "NOK", perShare: "3.70", tax: "0", note: "Q4 2024 dividend"},
		{date: "2025-05-15", account: "broker", kind: portfolio.TxDividend, symbol: "AAPL", quantity: "40", perShare: "0.26", tax: "1.56", note: "withholding tax 15%"},
		{date: "2025-06-10", account: "broker", kind: portfolio.TxSell, symbol: "MSFT", quantity: "5", fee: "1.00", note: "trim"},
		{date: "2025-06-30", account: "savings", kind: portfolio.TxInterest, amount: "174.60", note: "H1 interest"},
		{date: "2025-08-14", account: "broker", kind: portfolio.TxDividend, symbol: "AAPL", quantity: "40", perShare: "0.26", tax: "1.56", note: "withholding tax 15%"},
		{date: "2025-09-02", account: "crypto", kind: portfolio.TxSell, symbol: "ETH-USD", quantity: "0.3", feePct: "0.25", note: "take profit"},
		{date: "2025-11-12", account: "broker", kind: portfolio.TxBuy, symbol: "SPY", quantity: "5", fee: "1.00"},
		{date: "2025-12-31", account: "savings", kind: portfolio.TxInterest, amount: "183.20", note: "H2 interest"},
		{date: "2026-02-18", account: "broker", kind: portfolio.TxFee, amount: "25", note: "annual account fee"},
	}
}

// accountCurrency is the currency of every demo account but savings (see
// accounts.csv).
func accountCurrency(account string) string {
	if account == "savings" {
		return "EUR"
	}
	return "USD"
}

// FXPlaces is the number of decimals a demo exchange rate keeps.
const FXPlaces = 6

// Market returns the simulated market the demo is priced in: the history
// provider of sim.Default, the dashboard's.
func Market() (*sim.Provider, error) { return sim.New(sim.Default("sim-history")) }

// TradePrice is the price a demo trade of symbol books on day: the
// symbol's close that day in the market, through marketdata.ToDecimal and
// rounded to the currency's minor units as the ledger rounds money
// (portfolio.RoundMoney). A day without a bar of its own (a weekend for a
// share) is an error: the demo trades only when the market does.
func TradePrice(ctx context.Context, m marketdata.HistoryProvider, symbol string, day time.Time) (decimal.Decimal, string, error) {
	c, ccy, err := closeOn(ctx, m, symbol, day)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	return portfolio.RoundMoney(c, ccy), ccy, nil
}

// FXRate is the demo's rate from → to on day: the close of the simulated
// pair, rounded to FXPlaces decimals.
func FXRate(ctx context.Context, m marketdata.HistoryProvider, from, to string, day time.Time) (decimal.Decimal, error) {
	c, _, err := closeOn(ctx, m, marketdata.FXSymbol(from, to), day)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return c.RoundBank(FXPlaces), nil
}

// closeOn is symbol's close on day, from the bar dated day.
func closeOn(ctx context.Context, m marketdata.HistoryProvider, symbol string, day time.Time) (decimal.Decimal, string, error) {
	h, err := m.History(ctx, symbol, marketdata.HistoryRequest{Start: day.AddDate(0, 0, -7), End: day, Interval: marketdata.Daily})
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	for _, b := range h.Bars {
		if b.Time.Equal(day) {
			d, err := marketdata.ToDecimal(b.Close)
			return d, h.Currency, err
		}
	}
	return decimal.Decimal{}, "", fmt.Errorf("demo: %s does not trade on %s", symbol, day.Format(time.DateOnly))
}

// Transactions returns the demo's transactions priced in market m.
func Transactions(ctx context.Context, m marketdata.HistoryProvider) ([]portfolio.Transaction, error) {
	var out []portfolio.Transaction
	for _, r := range plan() {
		tx, err := r.price(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("demo %s %s %s: %w", r.date, r.kind, r.symbol, err)
		}
		out = append(out, tx)
	}
	return out, nil
}

func (r row) price(ctx context.Context, m marketdata.HistoryProvider) (portfolio.Transaction, error) {
	day, err := time.Parse(time.DateOnly, r.date)
	if err != nil {
		return portfolio.Transaction{}, err
	}
	tx := portfolio.Transaction{Time: day, Account: r.account, Kind: r.kind, Symbol: r.symbol, Currency: r.currency, Note: r.note,
		Quantity: dec(r.quantity), Fee: dec(r.fee), Tax: dec(r.tax), Amount: dec(r.amount)}
	ccy := accountCurrency(r.account)
	if r.currency != "" && r.currency != ccy {
		if tx.FXRate, err = FXRate(ctx, m, r.currency, ccy, day); err != nil {
			return tx, err
		}
		ccy = r.currency
	}
	switch r.kind {
	case portfolio.TxBuy, portfolio.TxSell:
		var quoted string
		if tx.Price, quoted, err = TradePrice(ctx, m, r.symbol, day); err != nil {
			return tx, err
		}
		if quoted != ccy {
			return tx, fmt.Errorf("quoted in %s, booked in %s", quoted, ccy)
		}
		if r.feePct != "" {
			tx.Fee = portfolio.RoundMoney(tx.Price.Mul(tx.Quantity).Mul(dec(r.feePct)).Div(decimal.NewFromInt(100)), ccy)
		}
	case portfolio.TxDividend:
		tx.Price = dec(r.perShare)
	}
	return tx, nil
}

// dec parses a number of the plan ("" is zero).
func dec(s string) decimal.Decimal {
	if s == "" {
		return decimal.Decimal{}
	}
	return decimal.RequireFromString(s)
}

// CSV returns the demo's transaction file priced in market m.
func CSV(ctx context.Context, m marketdata.HistoryProvider) ([]byte, error) {
	txs, err := Transactions(ctx, m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := portfolio.WriteCSV(&b, txs); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
