package papertrade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
)

// Sentinel errors of the live paper account.
var (
	// ErrNoQuote is returned when the quote source has no usable price.
	ErrNoQuote = errors.New("papertrade: no quote")
	// ErrCurrency is returned when a quote is in another currency than the
	// account.
	ErrCurrency = errors.New("papertrade: currency mismatch")
	// ErrInsufficientHoldings is returned when selling more than is held in
	// an account that does not allow shorts.
	ErrInsufficientHoldings = errors.New("papertrade: insufficient holdings")
	// ErrTooManyOrders is returned by PlaceLimit when the account has
	// AccountOptions.MaxPending limit orders pending.
	ErrTooManyOrders = errors.New("papertrade: too many pending orders")
)

// DefaultMaxPending is the default cap on an Account's pending limit
// orders.
const DefaultMaxPending = 100

// Holdings reads an account's booked cash and positions back;
// *portfolio.Ledger satisfies it. When the Booker also implements it, a new
// Account resumes from what was booked before.
type Holdings interface {
	Cash(account string) (decimal.Decimal, error)
	Positions(account string) []portfolio.Position
}

// AccountOptions configure a live paper Account.
type AccountOptions struct {
	// ID is the ledger account the fills are booked into (required).
	ID string
	// Currency of the account and of the quotes it trades (default USD).
	Currency string
	// Quotes gives the latest prices (marketdata's Aggregator satisfies
	// portfolio.PriceSource).
	Quotes portfolio.PriceSource
	// Book receives every fill as a portfolio transaction (required).
	Book Booker
	// Deposit is booked as starting cash when the account is new (its
	// booked cash is zero and it holds nothing).
	Deposit decimal.Decimal
	// SlippageBps moves market fills against the trader: buys fill that
	// many basis points above the quote, sells below.
	SlippageBps float64
	// Commission is charged on every fill.
	Commission CommissionModel
	// AllowShort allows selling more than is held.
	AllowShort bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxPending caps the pending limit orders (default
	// DefaultMaxPending); PlaceLimit beyond it fails with
	// ErrTooManyOrders.
	MaxPending int
	// Orders, when set, keeps the pending limit orders (a record named
	// "papertrade/orders/<ID>", JSON), so a restart keeps them: NewAccount
	// loads them, and every PlaceLimit, Cancel and fill saves them before
	// it counts (an order is taken out of the record before its fill is
	// booked, so it never fills twice). A portfolio store's book
	// (portfolio.StateStore) is one.
	Orders portfolio.StateStore
}

// LiveOrder is a pending limit order of an Account.
type LiveOrder struct {
	ID       int             `json:"id"`
	Symbol   string          `json:"symbol"`
	Side     Side            `json:"side"`
	Quantity decimal.Decimal `json:"quantity"`
	Limit    decimal.Decimal `json:"limit"`
	Placed   time.Time       `json:"placed"`
}

// Execution is a fill of a live Account.
type Execution struct {
	OrderID  int             `json:"order_id,omitempty"`
	Symbol   string          `json:"symbol"`
	Side     Side            `json:"side"`
	Quantity decimal.Decimal `json:"quantity"`
	Price    decimal.Decimal `json:"price"`
	Fee      decimal.Decimal `json:"fee"`
	Time     time.Time       `json:"time"`
	TxID     string          `json:"tx_id"`
}

// Account is a paper-trading account against live quotes: market orders
// fill at the latest quote plus slippage, limit orders fill when a later
// quote crosses their price (checked by Poll). Cash and positions are
// decimal, and every fill is booked through the Booker (a portfolio ledger),
// so the paper account is an ordinary ledger account. It is safe for
// concurrent use.
type Account struct {
	mu        sync.Mutex
	opts      AccountOptions
	slip      decimal.Decimal
	cash      decimal.Decimal
	positions map[string]decimal.Decimal
	orders    []LiveOrder
	nextOrder int
	ordersKey string
	nextTx    int
	idBase    string
}

// NewAccount opens a paper account. If the Booker can be read back
// (Holdings), the account resumes from its booked cash and positions;
// otherwise, or if nothing was booked, Deposit is booked as starting cash.
func NewAccount(ctx context.Context, opts AccountOptions) (*Account, error) {
	if opts.ID == "" || opts.Book == nil || opts.Quotes == nil {
		return nil, fmt.Errorf("%w: account id, booker and quote source are required", ErrInvalidOptions)
	}
	if opts.Currency == "" {
		opts.Currency = "USD"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.SlippageBps < 0 || opts.SlippageBps >= 1000 || opts.Deposit.Sign() < 0 {
		return nil, fmt.Errorf("%w: slippage %v bps, deposit %s", ErrInvalidOptions, opts.SlippageBps, opts.Deposit)
	}
	if m := opts.Commission; m.Rate < 0 || m.Rate >= 0.1 || m.Fixed < 0 || m.Minimum < 0 {
		return nil, fmt.Errorf("%w: commission %+v", ErrInvalidOptions, m)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := &Account{
		opts:      opts,
		slip:      decimal.NewFromFloat(opts.SlippageBps).Div(decimal.NewFromInt(10_000)),
		positions: map[string]decimal.Decimal{},
		idBase:    "paper-" + opts.ID + "-" + strconv.FormatInt(opts.Now().UnixNano(), 36),
		ordersKey: "papertrade/orders/" + opts.ID,
	}
	if err := a.syncLocked(); err != nil {
		return nil, err
	}
	if err := a.loadOrders(ctx); err != nil {
		return nil, err
	}
	if a.cash.IsZero() && len(a.positions) == 0 && opts.Deposit.Sign() > 0 {
		tx := portfolio.Transaction{
			ID: a.txID(), Account: opts.ID, Kind: portfolio.TxDeposit, Time: opts.Now(),
			Amount: opts.Deposit, Currency: opts.Currency, Note: "paper trading deposit",
		}
		if err := opts.Book.Apply(tx); err != nil {
			return nil, fmt.Errorf("%w: deposit: %w", ErrBooking, err)
		}
		a.cash = opts.Deposit
	}
	return a, nil
}

// syncLocked reads the cash and positions back from the Booker when it can
// (Holdings), so the account shows its books as booked, also when another
// writer changed them.
func (a *Account) syncLocked() error {
	h, ok := a.opts.Book.(Holdings)
	if !ok {
		return nil
	}
	cash, err := h.Cash(a.opts.ID)
	if err != nil {
		return fmt.Errorf("papertrade: read account %q: %w", a.opts.ID, err)
	}
	a.cash = cash
	clear(a.positions)
	for _, p := range h.Positions(a.opts.ID) {
		if p.Quantity.Sign() != 0 {
			a.positions[p.Symbol] = p.Quantity
		}
	}
	return nil
}

func (a *Account) txID() string {
	a.nextTx++
	return a.idBase + "-" + strconv.Itoa(a.nextTx)
}

// fee is the commission for qty × price in decimal.
func (a *Account) fee(qty, price decimal.Decimal) decimal.Decimal {
	m := a.opts.Commission
	f := decimal.NewFromFloat(m.Fixed).Add(decimal.NewFromFloat(m.Rate).Mul(qty.Abs()).Mul(price))
	if minimum := decimal.NewFromFloat(m.Minimum); f.LessThan(minimum) {
		f = minimum
	}
	return f.Round(8)
}

func (a *Account) quote(ctx context.Context, symbol string) (decimal.Decimal, error) {
	p, ccy, err := a.opts.Quotes.Price(ctx, symbol)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%w for %s: %w", ErrNoQuote, symbol, err)
	}
	if p.Sign() <= 0 {
		return decimal.Decimal{}, fmt.Errorf("%w for %s: price %s", ErrNoQuote, symbol, p)
	}
	if ccy != "" && !strings.EqualFold(ccy, a.opts.Currency) {
		return decimal.Decimal{}, fmt.Errorf("%w: %s quotes in %s, account is %s", ErrCurrency, symbol, ccy, a.opts.Currency)
	}
	return p, nil
}

func validQty(symbol string, qty decimal.Decimal) error {
	if strings.TrimSpace(symbol) == "" {
		return fmt.Errorf("%w: empty symbol", ErrInvalidOrder)
	}
	if qty.Sign() <= 0 {
		return fmt.Errorf("%w: quantity %s must be positive", ErrInvalidOrder, qty)
	}
	return nil
}

// Buy buys qty units of symbol at the latest quote plus slippage.
func (a *Account) Buy(ctx context.Context, symbol string, qty decimal.Decimal) (Execution, error) {
	return a.market(ctx, symbol, Buy, qty)
}

// Sell sells qty units of symbol at the latest quote minus slippage.
func (a *Account) Sell(ctx context.Context, symbol string, qty decimal.Decimal) (Execution, error) {
	return a.market(ctx, symbol, Sell, qty)
}

func (a *Account) market(ctx context.Context, symbol string, side Side, qty decimal.Decimal) (Execution, error) {
	if err := validQty(symbol, qty); err != nil {
		return Execution{}, err
	}
	if side != Buy && side != Sell {
		return Execution{}, fmt.Errorf("%w: side %v", ErrInvalidOrder, side)
	}
	p, err := a.quote(ctx, symbol)
	if err != nil {
		return Execution{}, err
	}
	price := p.Mul(decimal.NewFromInt(1).Add(a.slip.Mul(decimal.NewFromInt(int64(side)))))
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fillLocked(0, symbol, side, qty, price)
}

// fillLocked checks funds and holdings, books the fill, then updates the
// account. Nothing changes when booking fails.
func (a *Account) fillLocked(orderID int, symbol string, side Side, qty, price decimal.Decimal) (Execution, error) {
	price = price.Round(8)
	fee := a.fee(qty, price)
	notional := qty.Mul(price)
	held := a.positions[symbol]
	var cash decimal.Decimal
	if side == Buy {
		cash = a.cash.Sub(notional).Sub(fee)
		if cash.Sign() < 0 {
			return Execution{}, fmt.Errorf("%w: buying %s %s at %s costs %s, cash is %s", ErrInsufficientFunds, qty, symbol, price, notional.Add(fee).StringFixed(2), a.cash.StringFixed(2))
		}
	} else {
		if !a.opts.AllowShort && held.LessThan(qty) {
			return Execution{}, fmt.Errorf("%w: selling %s %s, holding %s", ErrInsufficientHoldings, qty, symbol, held)
		}
		cash = a.cash.Add(notional).Sub(fee)
	}
	now := a.opts.Now()
	kind := portfolio.TxBuy
	if side == Sell {
		kind = portfolio.TxSell
	}
	tx := portfolio.Transaction{
		ID: a.txID(), Account: a.opts.ID, Kind: kind, Time: now, Symbol: symbol,
		Quantity: qty, Price: price, Fee: fee, Currency: a.opts.Currency, Note: "paper trade",
	}
	if err := a.opts.Book.Apply(tx); err != nil {
		// Refused: the books may have moved under the account (another
		// writer); show them as booked.
		_ = a.syncLocked()
		return Execution{}, fmt.Errorf("%w: %w", ErrBooking, err)
	}
	a.cash = cash
	if side == Buy {
		held = held.Add(qty)
	} else {
		held = held.Sub(qty)
	}
	if held.IsZero() {
		delete(a.positions, symbol)
	} else {
		a.positions[symbol] = held
	}
	return Execution{OrderID: orderID, Symbol: symbol, Side: side, Quantity: qty, Price: price, Fee: fee, Time: now, TxID: tx.ID}, nil
}

// PlaceLimit places a limit order that Poll fills once a quote reaches the
// limit (at or below it for a buy, at or above it for a sell). Funds are
// checked when it fills.
func (a *Account) PlaceLimit(symbol string, side Side, qty, limit decimal.Decimal) (int, error) {
	if err := validQty(symbol, qty); err != nil {
		return 0, err
	}
	if side != Buy && side != Sell {
		return 0, fmt.Errorf("%w: side %v", ErrInvalidOrder, side)
	}
	if limit.Sign() <= 0 {
		return 0, fmt.Errorf("%w: limit %s must be positive", ErrInvalidOrder, limit)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.orders) >= a.opts.MaxPending {
		return 0, fmt.Errorf("%w: %d pending, at most %d", ErrTooManyOrders, len(a.orders), a.opts.MaxPending)
	}
	o := LiveOrder{ID: a.nextOrder + 1, Symbol: symbol, Side: side, Quantity: qty, Limit: limit, Placed: a.opts.Now()}
	orders := append(slices.Clip(a.orders), o)
	if err := a.saveOrders(context.Background(), orders, o.ID); err != nil {
		return 0, err
	}
	a.orders, a.nextOrder = orders, o.ID
	return o.ID, nil
}

// Cancel cancels a pending limit order.
func (a *Account) Cancel(id int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, o := range a.orders {
		if o.ID == id {
			rest := slices.Delete(slices.Clone(a.orders), i, i+1)
			if err := a.saveOrders(context.Background(), rest, a.nextOrder); err != nil {
				return err
			}
			a.orders = rest
			return nil
		}
	}
	return fmt.Errorf("%w: %d", ErrUnknownOrder, id)
}

// storedOrders is the record Options.Orders keeps: the pending orders and
// the last order id given out, so ids are not given out again.
type storedOrders struct {
	Last   int         `json:"last"`
	Orders []LiveOrder `json:"orders"`
}

// saveOrders stores orders as the account's pending orders (if it keeps
// them).
func (a *Account) saveOrders(ctx context.Context, orders []LiveOrder, last int) error {
	if a.opts.Orders == nil {
		return nil
	}
	data, err := json.Marshal(storedOrders{Last: last, Orders: orders})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.opts.Orders.SaveState(ctx, a.ordersKey, data); err != nil {
		return fmt.Errorf("papertrade: save pending orders: %w", err)
	}
	return nil
}

// loadOrders reads the pending orders kept by Options.Orders.
func (a *Account) loadOrders(ctx context.Context) error {
	if a.opts.Orders == nil {
		return nil
	}
	data, err := a.opts.Orders.State(ctx, a.ordersKey)
	if errors.Is(err, portfolio.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("papertrade: load pending orders: %w", err)
	}
	var st storedOrders
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("papertrade: load pending orders: %w", err)
	}
	a.orders, a.nextOrder = st.Orders, st.Last
	return nil
}

// Poll asks for fresh quotes and fills the pending limit orders they cross,
// at the quote (with slippage) but never worse than the limit. Orders that
// cross but cannot be paid for stay pending; their errors are joined into
// the returned error.
func (a *Account) Poll(ctx context.Context) ([]Execution, error) {
	a.mu.Lock()
	pending := append([]LiveOrder(nil), a.orders...)
	a.mu.Unlock()
	quotes := map[string]decimal.Decimal{}
	var errs []error
	var fills []Execution
	for _, o := range pending {
		p, ok := quotes[o.Symbol]
		if !ok {
			q, err := a.quote(ctx, o.Symbol)
			if err != nil {
				errs = append(errs, err)
				quotes[o.Symbol] = decimal.Zero
				continue
			}
			p, quotes[o.Symbol] = q, q
		}
		if p.IsZero() {
			continue
		}
		var price decimal.Decimal
		switch {
		case o.Side == Buy && p.LessThanOrEqual(o.Limit):
			price = decimal.Min(p.Mul(decimal.NewFromInt(1).Add(a.slip)), o.Limit)
		case o.Side == Sell && p.GreaterThanOrEqual(o.Limit):
			price = decimal.Max(p.Mul(decimal.NewFromInt(1).Sub(a.slip)), o.Limit)
		default:
			continue
		}
		a.mu.Lock()
		idx := -1
		for i := range a.orders {
			if a.orders[i].ID == o.ID {
				idx = i
			}
		}
		if idx < 0 { // cancelled meanwhile
			a.mu.Unlock()
			continue
		}
		ex, err := a.fillPendingLocked(ctx, idx, price)
		if err == nil {
			fills = append(fills, ex)
		} else {
			errs = append(errs, fmt.Errorf("order %d: %w", o.ID, err))
		}
		a.mu.Unlock()
	}
	return fills, errors.Join(errs...)
}

// fillPendingLocked fills the pending order at idx: it is taken out of the
// kept orders first, so a fill is never booked for an order that a restart
// would bring back, and put back if the fill fails.
func (a *Account) fillPendingLocked(ctx context.Context, idx int, price decimal.Decimal) (Execution, error) {
	o := a.orders[idx]
	rest := slices.Delete(slices.Clone(a.orders), idx, idx+1)
	if err := a.saveOrders(ctx, rest, a.nextOrder); err != nil {
		return Execution{}, err
	}
	ex, err := a.fillLocked(o.ID, o.Symbol, o.Side, o.Quantity, price)
	if err != nil {
		_ = a.saveOrders(ctx, a.orders, a.nextOrder)
		return Execution{}, err
	}
	a.orders = rest
	return ex, nil
}

// Cash is the account's cash.
func (a *Account) Cash() decimal.Decimal {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cash
}

// Positions returns the held quantities by symbol (negative when short).
func (a *Account) Positions() map[string]decimal.Decimal {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]decimal.Decimal, len(a.positions))
	for k, v := range a.positions {
		out[k] = v
	}
	return out
}

// Orders returns the pending limit orders, oldest first.
func (a *Account) Orders() []LiveOrder {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]LiveOrder(nil), a.orders...)
}

// Equity is cash plus every position marked at its latest quote.
func (a *Account) Equity(ctx context.Context) (decimal.Decimal, error) {
	pos := a.Positions()
	eq := a.Cash()
	syms := make([]string, 0, len(pos))
	for s := range pos {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	for _, s := range syms {
		p, err := a.quote(ctx, s)
		if err != nil {
			return decimal.Decimal{}, err
		}
		eq = eq.Add(pos[s].Mul(p))
	}
	return eq, nil
}

// Summary implements portfolio.Reportable.
func (a *Account) Summary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf("paper account %s: cash %s %s, %d positions, %d pending orders",
		a.opts.ID, a.cash.StringFixed(2), a.opts.Currency, len(a.positions), len(a.orders))
}

// ReplayQuotes is a portfolio.PriceSource that replays bar series: Price
// returns the close of the current bar of a symbol, and Advance moves every
// series one bar on. It drives paper trading over history (demos, tests,
// classroom use) without a network. It is safe for concurrent use.
type ReplayQuotes struct {
	mu       sync.RWMutex
	currency string
	series   map[string][]Bar
	pos      int
}

// NewReplayQuotes replays the given series (validated) quoted in currency.
func NewReplayQuotes(currency string, series map[string][]Bar) (*ReplayQuotes, error) {
	if len(series) == 0 {
		return nil, ErrNoBars
	}
	for sym, bars := range series {
		if err := ValidateBars(bars); err != nil {
			return nil, fmt.Errorf("%s: %w", sym, err)
		}
	}
	return &ReplayQuotes{currency: currency, series: series}, nil
}

// Price implements portfolio.PriceSource.
func (q *ReplayQuotes) Price(ctx context.Context, symbol string) (decimal.Decimal, string, error) {
	if err := ctx.Err(); err != nil {
		return decimal.Decimal{}, "", err
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	bars, ok := q.series[symbol]
	if !ok {
		return decimal.Decimal{}, "", fmt.Errorf("%w: unknown symbol %q", ErrNoQuote, symbol)
	}
	b := bars[min(q.pos, len(bars)-1)]
	return toDecimal(b.Close), q.currency, nil
}

// Advance moves to the next bar; false once every series is exhausted.
func (q *ReplayQuotes) Advance() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	longest := 0
	for _, b := range q.series {
		longest = max(longest, len(b))
	}
	if q.pos+1 >= longest {
		return false
	}
	q.pos++
	return true
}

// Time is the time of the current bar of symbol.
func (q *ReplayQuotes) Time(symbol string) (time.Time, bool) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	bars, ok := q.series[symbol]
	if !ok {
		return time.Time{}, false
	}
	return bars[min(q.pos, len(bars)-1)].Time, true
}
