package papertrade

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
)

// ErrBooking is returned when fills cannot be booked into a ledger.
var ErrBooking = errors.New("papertrade: booking failed")

// Booker books transactions atomically: all of them or none.
// *portfolio.Ledger satisfies it.
type Booker interface {
	Apply(txs ...portfolio.Transaction) error
}

// BookOptions say where a backtest's fills are booked.
type BookOptions struct {
	Account  string // ledger account id (required)
	Symbol   string // instrument symbol (required)
	Currency string // currency of prices and cash (default: the account's)
	// IDPrefix prefixes transaction ids ("<prefix>-<n>"); default
	// "papertrade".
	IDPrefix string
	// Deposit books the starting cash as a deposit at the first bar.
	Deposit bool
}

// toDecimal is the one place where the engine's float64 figures become
// money: the shortest decimal that reads back as the same float64.
func toDecimal(f float64) decimal.Decimal { return decimal.NewFromFloat(f) }

// Transaction turns the fill into a ledger transaction: a buy for a positive
// quantity, a sell for a negative one, at the fill price, with the fill's
// commission as the fee.
func (f Fill) Transaction(account, symbol, currency string) portfolio.Transaction {
	kind := portfolio.TxBuy
	q := f.Quantity
	if q < 0 {
		kind, q = portfolio.TxSell, -q
	}
	return portfolio.Transaction{
		Account:  account,
		Kind:     kind,
		Time:     f.Time,
		Symbol:   symbol,
		Quantity: toDecimal(q),
		Price:    toDecimal(f.Price),
		Fee:      toDecimal(f.Fee),
		Currency: currency,
		Note:     f.Tag,
	}
}

// Transactions converts the result's fills (and, with Deposit, the starting
// cash) into ledger transactions with ids "<prefix>-1", "<prefix>-2", ….
func (r *Result) Transactions(o BookOptions) ([]portfolio.Transaction, error) {
	if o.Account == "" || o.Symbol == "" {
		return nil, fmt.Errorf("%w: account and symbol are required", ErrBooking)
	}
	prefix := o.IDPrefix
	if prefix == "" {
		prefix = "papertrade"
	}
	var txs []portfolio.Transaction
	if o.Deposit {
		txs = append(txs, portfolio.Transaction{
			Account: o.Account, Kind: portfolio.TxDeposit, Time: r.StartTime,
			Amount: toDecimal(r.Cash), Currency: o.Currency, Note: "papertrade starting cash",
		})
	}
	for _, f := range r.Fills {
		txs = append(txs, f.Transaction(o.Account, o.Symbol, o.Currency))
	}
	for i := range txs {
		txs[i].ID = prefix + "-" + strconv.Itoa(i+1)
	}
	return txs, nil
}

// Book books the result's fills into b in one atomic batch: either every
// fill is booked or none is.
func (r *Result) Book(b Booker, o BookOptions) error {
	if b == nil {
		return fmt.Errorf("%w: nil booker", ErrBooking)
	}
	txs, err := r.Transactions(o)
	if err != nil {
		return err
	}
	if err := b.Apply(txs...); err != nil {
		return fmt.Errorf("%w: %w", ErrBooking, err)
	}
	return nil
}

// firstTime is the time of the first bar of a result (zero if none).
func firstTime(bars []Bar) time.Time {
	if len(bars) == 0 {
		return time.Time{}
	}
	return bars[0].Time
}
