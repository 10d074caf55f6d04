// Package portfolio is the domain core of finkit: the types the whole project
// talks in (Account, Transaction, Stock and the Reportable interface) and a
// ledger that books transactions with exact decimal arithmetic.
//
// Money and quantities are github.com/shopspring/decimal values; analytics
// elsewhere in finkit use float64 and convert in one visible place (here:
// allocation weights, TWR and XIRR are float64).
//
// # Ledger
//
// NewLedger(accounts...) returns a Ledger (Portfolio is another name for
// it); Ledger.Apply(txs...) validates and books a batch atomically (all or
// nothing) in time order, with FIFO lots or average cost per account, shorts
// where allowed, splits, dividends, FX trades and transfers. Read methods:
// Cash, Balance, Position, Positions, Lots, Realized, RealizedByYear,
// Transactions; Import applies only what is new. Value prices the holdings through a PriceSource and a
// RateSource into a Valuation with allocation by asset class, currency,
// account and symbol, and the gain split into capital gain, income and
// currency effect. Performance replays the ledger day by day for the
// time-weighted return, the money-weighted return (XIRR, the period's
// return under a year), net flows and the currency effect in the base
// currency over any period: each flow is converted at its own day's rate
// and securities transfers count at market. A Series keeps that daily
// series for an app: computed once, then extended by the days, prices and
// transactions that change (NewSeries, Series.Performance,
// Series.Invalidate, Series.SetLedger).
//
// Validation failures wrap exported sentinel errors: ErrUnknownAccount,
// ErrDuplicateID, ErrInsufficientHoldings, ErrInsufficientFunds,
// ErrCurrencyMismatch, ErrInvalidQuantity, ErrInvalidPrice, ErrInvalidAmount,
// ErrInvalidTransaction, ErrNoPosition, ErrUnmatchedTransfer.
//
// # Rounding
//
// Quantities, prices, cost bases and realized gains are kept exact. Rounding
// happens in two places only, always with banker's rounding (round half to
// even, decimal.RoundBank) to the currency's minor units (ISO 4217
// exponent: JPY 0, KWD/BHD/OMR/JOD/TND/LYD/IQD 3, most others 2; see
// MinorUnits): when an amount is booked as cash (the cash leg of a trade,
// after conversion to the account currency; every cash transaction) and when
// money is formatted for display (FormatMoney, Summary). Because the basis of
// a purchase is the rounded cash that left the account and the proceeds of a
// sale the rounded cash that came in, cash + basis always add up exactly.
// The local basis (instrument currency) of a foreign trade is rounded to
// the instrument currency's minor units; of a trade in the account
// currency it is the basis. A pro-rata share of a basis (a partial sale,
// a partial transfer) is computed to 16 decimal places and the rest stays
// with the remainder, so nothing is lost or created.
//
// # CSV format
//
// ReadCSV and WriteCSV use one documented format. The first row is a header;
// columns may come in any order, names are case-insensitive; "date",
// "account" and "kind" are required, the rest optional (an empty cell is
// zero or empty):
//
//	id        transaction id; empty → "csv-" + a hash of the row's content
//	date      ISO 8601: 2024-03-01, 2024-03-01T15:04:05Z, 2024-03-01T15:04:05+01:00
//	          (fractional seconds allowed; no zone means UTC). Alias: time.
//	account   account id
//	kind      deposit, withdrawal, buy, sell, dividend, interest, fee, tax,
//	          transfer_in, transfer_out, split. Alias: type.
//	symbol    instrument symbol
//	quantity  units; of a split, the new units (2 in 2-for-1)
//	price     price per unit; of a split, the old units (empty: 1)
//	amount    cash amount of cash kinds (deposit, dividend, …)
//	fee, tax  charges (tax on a dividend is withholding tax)
//	currency  ISO 4217 code; empty means the account currency
//	fx_rate   rate from currency to the account currency when they differ
//	note      free text
//
// Numbers use a decimal point, no thousands separators and no exponents.
// A problem is reported with its line and column, for example
// `line 17, column quantity: "abc" is not a number`, and nothing is
// returned. Ledger.Import applies a file all or nothing and skips
// transactions it already has, so re-importing a file adds nothing.
// WriteCSV followed by ReadCSV gives back the same transactions.
//
// # Stores
//
// Store persists one owner's books: accounts, instruments and transactions.
// A Shelf holds many owners' books apart (Shelf.Book(owner) is one owner's
// Store; no id reaches another owner's rows); MemStore keeps them in memory
// and package portfolio/sqlstore in any database/sql database. LoadLedger
// rebuilds a Ledger from a Store.
//
// Transactions are written in one place, checked against the books as they
// are stored at that moment, inside the store's write lock (Store.Update):
// BookTransactions adds, EditTransaction and DeleteTransaction change by
// hand. A write that would leave the books not applying is refused and
// changes nothing. Books that do not apply (data from an older version, a
// hand edit) fail LoadLedger with a *BooksError naming the transactions;
// Books.Replay shows what does apply. Accounts go through Update too
// (Change.Accounts): AddAccount refuses an id the stored books already have,
// so two racing adds store one account.
//
// Every write bumps the owner's revision inside its own transaction;
// Store.Revision reads it with one point query. A cache of a book (a
// replayed ledger, a performance series) checks it before each use and
// reloads when it changed, whichever process or instance wrote.
package portfolio
