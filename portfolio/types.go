package portfolio

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Reportable is anything that can describe itself in one readable line, so a
// dashboard can list accounts, holdings, quotes and reports with the same code.
type Reportable interface {
	Summary() string
}

// AssetClass says what kind of instrument a Stock is.
type AssetClass string

// Asset classes.
const (
	AssetStock    AssetClass = "stock"
	AssetETF      AssetClass = "etf"
	AssetFund     AssetClass = "fund"
	AssetBond     AssetClass = "bond"
	AssetCrypto   AssetClass = "crypto"
	AssetCurrency AssetClass = "currency"
	AssetCash     AssetClass = "cash"
)

// Stock is a tradable instrument: a share, fund, bond, coin or currency.
type Stock struct {
	Symbol   string     `json:"symbol"`
	Name     string     `json:"name,omitempty"`
	Exchange string     `json:"exchange,omitempty"`
	Currency string     `json:"currency"` // ISO 4217 code
	Class    AssetClass `json:"class"`
}

// AccountKind says what an Account holds.
type AccountKind string

// Account kinds.
const (
	KindBrokerage AccountKind = "brokerage"
	KindBank      AccountKind = "bank"
	KindCrypto    AccountKind = "crypto"
	KindCash      AccountKind = "cash"
)

// CostMethod is how an account computes the cost basis of what it sells.
type CostMethod string

// Cost-basis methods.
const (
	FIFO        CostMethod = "fifo"    // first in, first out (default)
	AverageCost CostMethod = "average" // pooled average cost (UK/Canada/France style)
)

// Account is a place that holds cash and securities in a base currency.
type Account struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Kind       AccountKind `json:"kind"`
	Currency   string      `json:"currency"` // base currency, ISO 4217
	CostMethod CostMethod  `json:"cost_method,omitempty"`
	AllowShort bool        `json:"allow_short,omitempty"`
	// AllowMargin lets cash go negative (a credit line or margin loan).
	// Without it, a withdrawal, buy, fee or transfer that would make cash
	// negative fails with ErrInsufficientFunds.
	AllowMargin bool `json:"allow_margin,omitempty"`
}

// TxKind is the kind of a Transaction.
type TxKind string

// Transaction kinds.
const (
	TxDeposit     TxKind = "deposit"
	TxWithdrawal  TxKind = "withdrawal"
	TxBuy         TxKind = "buy"
	TxSell        TxKind = "sell"
	TxDividend    TxKind = "dividend"
	TxInterest    TxKind = "interest"
	TxFee         TxKind = "fee"
	TxTax         TxKind = "tax"
	TxTransferIn  TxKind = "transfer_in"
	TxTransferOut TxKind = "transfer_out"
	TxSplit       TxKind = "split"
)

// Transaction is one booked event in an account. Money fields are in
// Currency; FXRate converts Currency to the account currency when they differ
// (account amount = amount × FXRate). A split gives Quantity new units for
// Price old ones (Price 0 means 1): 2-for-1 is Quantity 2, a 2-for-3
// reverse split Quantity 2 and Price 3.
//
// Which fields each kind uses:
//
//	buy, sell          Symbol, Quantity > 0, Price ≥ 0, Fee, Tax
//	deposit, withdrawal, interest, fee, tax
//	                   Amount > 0 (Symbol optional, for information)
//	dividend           Symbol, Amount > 0 (gross) or Quantity × Price,
//	                   Tax = withholding tax, Fee
//	transfer_in/out    cash: Amount > 0 and no Symbol;
//	                   securities: Symbol, Quantity > 0; a transfer_in
//	                   with Price 0 takes over the lots of the same day's
//	                   transfer_out, with a Price it is a new lot at that
//	                   cost per unit (see Ledger)
//	split              Symbol, Quantity = new units > 0, Price = old
//	                   units (0 = 1); quantities become q × new / old,
//	                   exact when that is a finite decimal, else rounded
//	                   to 16 places
//
// An empty Currency means the account currency. A Currency other than the
// account's needs FXRate > 0: the cash leg is then booked in the account
// currency as amount × FXRate (the broker converts), while the position keeps
// its cost in both currencies so returns can be split into price and
// currency effects.
type Transaction struct {
	ID       string          `json:"id"`
	Account  string          `json:"account"`
	Kind     TxKind          `json:"kind"`
	Time     time.Time       `json:"time"`
	Symbol   string          `json:"symbol,omitempty"`
	Quantity decimal.Decimal `json:"quantity"`
	Price    decimal.Decimal `json:"price"`
	Fee      decimal.Decimal `json:"fee"`
	Tax      decimal.Decimal `json:"tax"`
	Amount   decimal.Decimal `json:"amount"` // cash amount for cash kinds (see above)
	Currency string          `json:"currency"`
	FXRate   decimal.Decimal `json:"fx_rate"`
	Note     string          `json:"note,omitempty"`
}

// PriceSource gives the latest price of a symbol and the currency it is
// quoted in. marketdata's Aggregator satisfies it.
type PriceSource interface {
	Price(ctx context.Context, symbol string) (price decimal.Decimal, currency string, err error)
}

// RateSource gives the exchange rate that converts one unit of currency from
// into currency to. marketdata's Aggregator satisfies it.
type RateSource interface {
	Rate(ctx context.Context, from, to string) (decimal.Decimal, error)
}
