package portfolio

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/portfolio/internal/exact"
)

// Position is a read-only view of one holding in one account.
type Position struct {
	Account         string          `json:"account"`
	AccountCurrency string          `json:"account_currency"`
	Symbol          string          `json:"symbol"`
	Currency        string          `json:"currency"` // currency the symbol trades in
	Quantity        decimal.Decimal `json:"quantity"` // negative for a short
	Basis           decimal.Decimal `json:"basis"`    // account currency, fees included
	LocalBasis      decimal.Decimal `json:"local_basis"`
	LastPrice       decimal.Decimal `json:"last_price"` // price of the last trade, split-adjusted
	LastTime        time.Time       `json:"last_time"`
}

// AverageCost is the basis per unit in the instrument currency (fees
// included), or zero for an empty position.
func (p Position) AverageCost() decimal.Decimal {
	if p.Quantity.Sign() == 0 {
		return decimal.Zero
	}
	return p.LocalBasis.Div(p.Quantity)
}

// Summary describes the position at its last trade price, for example
// "EQNR.OL 120 sh @ 312.40 NOK = 37,488.00 NOK (+4.2%)".
func (p Position) Summary() string {
	return holdingLine(p.Symbol, p.Quantity, p.LastPrice, p.Currency, p.LocalBasis, "")
}

// holdingLine formats "SYM Q sh @ P CCY = V CCY (+x.x%)"; unit is "sh"
// unless given.
func holdingLine(symbol string, qty, price decimal.Decimal, ccy string, basis decimal.Decimal, unit string) string {
	if unit == "" {
		unit = "sh"
	}
	value := qty.Mul(price)
	s := fmt.Sprintf("%s %s %s @ %s = %s", symbol, FormatQuantity(qty), unit, FormatPrice(RoundPrice(price, ccy), ccy), FormatMoney(value, ccy))
	if basis.Sign() != 0 {
		s += " (" + formatPct(value.Sub(basis).Div(basis.Abs())) + ")"
	}
	return s
}

// formatPct formats a fraction as a signed percentage with one decimal.
func formatPct(f decimal.Decimal) string {
	pct := f.Shift(2).RoundBank(1)
	s := pct.StringFixed(1)
	if pct.Sign() >= 0 {
		s = "+" + s
	}
	return s + "%"
}

// Balance is an account's cash and running totals, all in the account
// currency.
type Balance struct {
	Account     string          `json:"account"`
	Currency    string          `json:"currency"`
	Cash        decimal.Decimal `json:"cash"`
	Deposits    decimal.Decimal `json:"deposits"`    // deposits and transfers in
	Withdrawals decimal.Decimal `json:"withdrawals"` // withdrawals and transfers out
	Dividends   decimal.Decimal `json:"dividends"`   // gross
	Interest    decimal.Decimal `json:"interest"`
	Fees        decimal.Decimal `json:"fees"`  // fee transactions and the fees on other transactions
	Taxes       decimal.Decimal `json:"taxes"` // tax transactions and the taxes on others (withholding tax on dividends and interest)
	Realized    decimal.Decimal `json:"realized"`
}

// NetContributions is deposits minus withdrawals.
func (b Balance) NetContributions() decimal.Decimal { return b.Deposits.Sub(b.Withdrawals) }

// Income is dividends plus interest.
func (b Balance) Income() decimal.Decimal { return b.Dividends.Add(b.Interest) }

// Summary describes the balance, for example "broker cash 1,000.00 NOK".
func (b Balance) Summary() string {
	return fmt.Sprintf("%s cash %s, realized %s, income %s", b.Account,
		FormatMoney(b.Cash, b.Currency), FormatMoney(b.Realized, b.Currency), FormatMoney(b.Income(), b.Currency))
}

// Accounts returns the ledger's accounts in the order they were added.
func (l *Ledger) Accounts() []Account {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]Account, len(l.order))
	for i, st := range l.order {
		out[i] = st.acct
	}
	return out
}

// Account returns the account with id.
func (l *Ledger) Account(id string) (Account, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st, ok := l.accts[id]
	if !ok {
		return Account{}, fmt.Errorf("%w: %q", ErrUnknownAccount, id)
	}
	return st.acct, nil
}

// Cash returns the cash balance of an account in its currency.
func (l *Ledger) Cash(account string) (decimal.Decimal, error) {
	b, err := l.Balance(account)
	return b.Cash, err
}

// Balance returns an account's cash and totals.
func (l *Ledger) Balance(account string) (Balance, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st, ok := l.accts[account]
	if !ok {
		return Balance{}, fmt.Errorf("%w: %q", ErrUnknownAccount, account)
	}
	return st.balance(), nil
}

func (st *acctState) balance() Balance {
	realized := st.s.gain.Dec()
	return Balance{
		Account: st.acct.ID, Currency: st.acct.Currency, Cash: st.s.cash.Dec(),
		Deposits: st.s.deposits.Dec(), Withdrawals: st.s.withdrawals.Dec(), Dividends: st.s.dividends.Dec(),
		Interest: st.s.interest.Dec(), Fees: st.s.fees.Dec(), Taxes: st.s.taxes.Dec(), Realized: realized,
	}
}

// Position returns the holding of symbol in account; ok is false when there
// is none (or it was closed).
func (l *Ledger) Position(account, symbol string) (pos Position, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := l.accts[account]
	if st == nil {
		return Position{}, false
	}
	p := st.positions[symbol]
	if p == nil || p.s.qty.Sign() == 0 {
		return Position{}, false
	}
	return st.view(p), true
}

func (st *acctState) view(p *position) Position {
	return Position{
		Account: st.acct.ID, AccountCurrency: st.acct.Currency, Symbol: p.symbol, Currency: p.s.currency,
		Quantity: p.s.qty.Dec(), Basis: p.s.basis.Dec(), LocalBasis: p.s.localBasis.Dec(),
		LastPrice: p.s.lastPrice, LastTime: p.s.lastTime,
	}
}

// Positions returns the open positions of account, or of all accounts when
// account is "", ordered by account (as added) and symbol.
func (l *Ledger) Positions(account string) []Position {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Position
	for _, st := range l.order {
		if account != "" && st.acct.ID != account {
			continue
		}
		for _, p := range st.bySymbol {
			if p.s.qty.Sign() != 0 {
				out = append(out, st.view(p))
			}
		}
	}
	return out
}

// Lots returns the open lots of symbol in account, oldest first. Accounts
// on average cost have no lots.
func (l *Ledger) Lots(account, symbol string) []Lot {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := l.accts[account]
	if st == nil {
		return nil
	}
	p := st.positions[symbol]
	if p == nil {
		return nil
	}
	if p.s.head == len(p.s.lots) {
		return nil
	}
	lots := make([]Lot, 0, len(p.s.lots)-p.s.head)
	for i := p.s.head; i < len(p.s.lots); i++ {
		lots = append(lots, p.s.lots[i].pub())
	}
	return lots
}

// Realized returns the realized gains of account, or of all accounts when
// account is "", in the order they were booked.
func (l *Ledger) Realized(account string) []RealizedGain {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []RealizedGain
	for _, st := range l.order {
		if account == "" || st.acct.ID == account {
			for i := range st.realized.len() {
				out = append(out, st.realized.at(i).pub(st.acct.ID))
			}
		}
	}
	return out
}

// RealizedByYear sums the realized gains of account ("" for all accounts,
// which only makes sense when they share a currency) by the calendar year
// of the closing date, for tax reports. The date is the local one the sale
// was recorded with (the zone or UTC offset of its Time: a sale at
// 2023-12-31T20:00-05:00 counts in 2023); record times with the account
// holder's offset to get their tax year.
func (l *Ledger) RealizedByYear(account string) map[int]decimal.Decimal {
	l.mu.RLock()
	defer l.mu.RUnlock()
	sums := make(map[int]exact.Num)
	for _, st := range l.order {
		if account != "" && st.acct.ID != account {
			continue
		}
		for i := range st.realized.len() {
			r := st.realized.at(i)
			y := r.closed.Year()
			sums[y] = sums[y].Add(r.gain)
		}
	}
	out := make(map[int]decimal.Decimal, len(sums))
	for y, t := range sums {
		out[y] = t.Dec()
	}
	return out
}

// Transactions returns every applied transaction in time order (with
// assigned IDs and currencies filled in).
func (l *Ledger) Transactions() []Transaction {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.txs.all()
}

// Len returns the number of applied transactions.
func (l *Ledger) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.txs.len()
}

// Has reports whether a transaction with id was applied.
func (l *Ledger) Has(id string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.ids.Get(id, l.txID)
	return ok
}

// Summary describes an account: "Nordnet (brokerage, NOK, fifo)".
func (a Account) Summary() string {
	name := a.Name
	if name == "" {
		name = a.ID
	}
	method := a.CostMethod
	if method == "" {
		method = FIFO
	}
	s := fmt.Sprintf("%s (%s, %s, %s", name, a.Kind, a.Currency, method)
	if a.AllowShort {
		s += ", shorts"
	}
	if a.AllowMargin {
		s += ", margin"
	}
	return s + ")"
}

// Summary describes an instrument: "EQNR.OL Equinor ASA (stock, OSE, NOK)".
func (s Stock) Summary() string {
	out := s.Symbol
	if s.Name != "" {
		out += " " + s.Name
	}
	parts := []string{string(s.Class)}
	if s.Class == "" {
		parts[0] = string(AssetStock)
	}
	if s.Exchange != "" {
		parts = append(parts, s.Exchange)
	}
	if s.Currency != "" {
		parts = append(parts, s.Currency)
	}
	return out + " (" + strings.Join(parts, ", ") + ")"
}

// Summary describes a transaction in one line, for example
// "2024-03-01 buy 120 EQNR.OL @ 312.40 NOK fee 99.00 NOK [broker]".
func (t Transaction) Summary() string {
	var b strings.Builder
	b.WriteString(t.Time.Format("2006-01-02"))
	b.WriteByte(' ')
	b.WriteString(string(t.Kind))
	switch t.Kind {
	case TxBuy, TxSell:
		fmt.Fprintf(&b, " %s %s @ %s", FormatQuantity(t.Quantity), t.Symbol, FormatPrice(t.Price, t.Currency))
	case TxSplit:
		old := t.Price
		if old.Sign() == 0 {
			old = one
		}
		fmt.Fprintf(&b, " %s %s:%s", t.Symbol, FormatQuantity(t.Quantity), FormatQuantity(old))
	case TxTransferIn, TxTransferOut:
		if t.Symbol != "" {
			fmt.Fprintf(&b, " %s %s", FormatQuantity(t.Quantity), t.Symbol)
		} else {
			fmt.Fprintf(&b, " %s", FormatMoney(t.Amount, t.Currency))
		}
	default:
		if t.Symbol != "" {
			fmt.Fprintf(&b, " %s", t.Symbol)
		}
		amt := t.Amount
		if amt.Sign() == 0 && t.Quantity.Sign() > 0 {
			amt = t.Quantity.Mul(t.Price)
		}
		fmt.Fprintf(&b, " %s", FormatMoney(amt, t.Currency))
	}
	if t.Fee.Sign() != 0 {
		fmt.Fprintf(&b, " fee %s", FormatMoney(t.Fee, t.Currency))
	}
	if t.Tax.Sign() != 0 {
		fmt.Fprintf(&b, " tax %s", FormatMoney(t.Tax, t.Currency))
	}
	if t.FXRate.Sign() != 0 {
		fmt.Fprintf(&b, " fx %s", t.FXRate)
	}
	fmt.Fprintf(&b, " [%s]", t.Account)
	return b.String()
}

// Portfolio is another name for Ledger: the set of accounts a person tracks,
// with everything booked into them.
type Portfolio = Ledger

// Summary describes the ledger: "2 accounts, 5 positions, 120 transactions
// since 2024-01-02".
func (l *Ledger) Summary() string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	positions := 0
	for _, st := range l.order {
		for _, p := range st.positions {
			if p.s.qty.Sign() != 0 {
				positions++
			}
		}
	}
	s := fmt.Sprintf("%d accounts, %d positions, %d transactions", len(l.order), positions, l.txs.len())
	if l.txs.len() > 0 {
		s += " since " + l.txs.at(0).Time.Format(time.DateOnly)
	}
	return s
}
