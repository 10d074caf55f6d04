package portfolio

import "errors"

// Sentinel errors. Functions wrap them with context; test with errors.Is.
var (
	// ErrUnknownAccount: a transaction names an account the ledger does not have.
	ErrUnknownAccount = errors.New("portfolio: unknown account")
	// ErrDuplicateAccount: an account id is used twice.
	ErrDuplicateAccount = errors.New("portfolio: duplicate account")
	// ErrInvalidAccount: an account lacks an id or currency, or has an unknown kind or cost method.
	ErrInvalidAccount = errors.New("portfolio: invalid account")
	// ErrDuplicateID: a transaction id was already applied (or appears twice in a batch).
	ErrDuplicateID = errors.New("portfolio: duplicate transaction id")
	// ErrInvalidTransaction: an unknown kind, a zero time or a missing symbol.
	ErrInvalidTransaction = errors.New("portfolio: invalid transaction")
	// ErrInvalidQuantity: a quantity (or split ratio) that is zero or negative.
	ErrInvalidQuantity = errors.New("portfolio: quantity must be positive")
	// ErrInvalidPrice: a negative price.
	ErrInvalidPrice = errors.New("portfolio: price must not be negative")
	// ErrInvalidAmount: a cash amount that is not positive, or a negative fee, tax or FX rate.
	ErrInvalidAmount = errors.New("portfolio: invalid amount")
	// ErrCurrencyMismatch: a transaction in a currency other than the
	// account's without an FX rate, or in a currency other than the position's.
	ErrCurrencyMismatch = errors.New("portfolio: wrong currency")
	// ErrInsufficientHoldings: selling or transferring more than is held
	// (selling is allowed when the account allows shorts).
	ErrInsufficientHoldings = errors.New("portfolio: insufficient holdings")
	// ErrInsufficientFunds: a transaction would make cash negative in an account without margin.
	ErrInsufficientFunds = errors.New("portfolio: insufficient funds")
	// ErrUnmatchedTransfer: a transfer_in of securities at price 0 (taking
	// over the lots of a transfer_out) with fewer units moved out that day.
	ErrUnmatchedTransfer = errors.New("portfolio: transfer_in matches no transfer_out")
	// ErrNoPosition: a split for a symbol the account does not hold.
	ErrNoPosition = errors.New("portfolio: no such position")
	// ErrNoPrice: valuation found no price for a held symbol.
	ErrNoPrice = errors.New("portfolio: no price")
	// ErrNoRate: XIRR found no rate of return that solves the cash flows.
	ErrNoRate = errors.New("portfolio: no rate of return solves the cash flows")
	// ErrNotEnoughData: a return cannot be computed from the given data.
	ErrNotEnoughData = errors.New("portfolio: not enough data")
	// ErrInvalidTiming: a FlowTiming that is none of the declared constants.
	ErrInvalidTiming = errors.New("portfolio: invalid flow timing")
	// ErrAccountInUse: saving an account that has transactions with
	// another currency or cost method (its transactions would no longer
	// apply as booked).
	ErrAccountInUse = errors.New("portfolio: account has transactions; its currency and cost method cannot change")
	// ErrInvalidOwner: an owner a store does not accept (see CheckOwner).
	ErrInvalidOwner = errors.New("portfolio: invalid owner")
	// ErrInvalidState: a state record a store does not accept (see CheckState).
	ErrInvalidState = errors.New("portfolio: invalid state record")
	// ErrNotFound: a store has no such record.
	ErrNotFound = errors.New("portfolio: not found")
)
