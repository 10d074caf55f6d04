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
	"unicode/utf8"

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
	// ErrInvalidQuantity is an order quantity that is not positive, above
	// MaxOrderQuantity or finer than OrderDecimals places. It is an
	// ErrInvalidOrder.
	ErrInvalidQuantity = fmt.Errorf("%w: quantity out of range", ErrInvalidOrder)
	// ErrInvalidLimit is a limit price that is not positive, above
	// MaxOrderPrice or finer than OrderDecimals places. It is an
	// ErrInvalidOrder.
	ErrInvalidLimit = fmt.Errorf("%w: limit price out of range", ErrInvalidOrder)
	// ErrInvalidSymbol is an empty symbol, one longer than 32 bytes or one
	// with spaces or control characters. It is an ErrInvalidOrder.
	ErrInvalidSymbol = fmt.Errorf("%w: invalid symbol", ErrInvalidOrder)
	// ErrOrderFilling is returned by Cancel for an order that is being
	// filled (by this process or another on the same store).
	ErrOrderFilling = errors.New("papertrade: order is being filled")
)

// Bounds of a live order: a quantity or limit price beyond them is a
// typing error or an attack, never a trade (1e9999 shares would overflow
// every figure derived from them).
const (
	MaxOrderQuantity = 1_000_000_000 // units
	MaxOrderPrice    = 1_000_000_000 // in the account's currency
	OrderDecimals    = 8             // decimal places of a quantity or price
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
	// "papertrade/orders/<ID>", JSON), so a restart keeps them and several
	// processes on one store share them: every PlaceLimit, Cancel and fill
	// changes the record with one StateStore.UpdateState (the cap and the
	// order ids are those of the record, whoever placed the orders), and
	// Poll reads it. A fill claims its order in the record before it is
	// booked, under a transaction id derived from the order, and removes
	// it after, so each order fills once across processes, also when one
	// dies between the two (another takes the claim over after
	// claimTimeout; the booking of the same id is refused). A portfolio
	// store's book (portfolio.StateStore) is one.
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
	mem       storedOrders // the pending orders (a copy of the kept record)
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

// validQty checks an order's symbol and quantity (see the bounds above).
func validQty(symbol string, qty decimal.Decimal) error {
	if symbol == "" || len(symbol) > 32 || strings.ContainsFunc(symbol, func(r rune) bool { return r <= ' ' || r == 0x7f || r == utf8.RuneError }) {
		return fmt.Errorf("%w: %.40q", ErrInvalidSymbol, symbol)
	}
	if !inBounds(qty, MaxOrderQuantity) {
		return fmt.Errorf("%w: %s (more than 0, at most %d, %d decimals)", ErrInvalidQuantity, shortNum(qty), MaxOrderQuantity, OrderDecimals)
	}
	return nil
}

// validLimit checks a limit price.
func validLimit(limit decimal.Decimal) error {
	if !inBounds(limit, MaxOrderPrice) {
		return fmt.Errorf("%w: %s (more than 0, at most %d, %d decimals)", ErrInvalidLimit, shortNum(limit), MaxOrderPrice, OrderDecimals)
	}
	return nil
}

// inBounds reports whether 0 < d <= maxValue with at most OrderDecimals
// places. The exponent is looked at first, so 1e9999 or 1e-9999 costs no
// big arithmetic.
func inBounds(d decimal.Decimal, maxValue int64) bool {
	if d.Sign() <= 0 || d.Exponent() > 18 || d.Exponent() < -OrderDecimals-18 {
		return false
	}
	return d.LessThanOrEqual(decimal.NewFromInt(maxValue)) && d.Equal(d.Truncate(OrderDecimals))
}

// shortNum prints d for an error message, never more than 40 bytes.
func shortNum(d decimal.Decimal) string {
	var str string
	if e := d.Exponent(); e > 18 || e < -26 {
		str = fmt.Sprintf("%se%d", d.Coefficient(), e)
	} else {
		str = d.String()
	}
	if len(str) > 40 {
		return str[:37] + "..."
	}
	return str
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
	return a.fillLocked(0, a.txID(), symbol, side, qty, price)
}

// fillLocked checks funds and holdings, books the fill, then updates the
// account. Nothing changes when booking fails.
func (a *Account) fillLocked(orderID int, txID, symbol string, side Side, qty, price decimal.Decimal) (Execution, error) {
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
		ID: txID, Account: a.opts.ID, Kind: kind, Time: now, Symbol: symbol,
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
// checked when it fills. A symbol, quantity or limit out of bounds fails
// with ErrInvalidSymbol, ErrInvalidQuantity or ErrInvalidLimit, and more
// than MaxPending orders with ErrTooManyOrders (counted in the kept
// record, so across processes too); nothing is stored then.
func (a *Account) PlaceLimit(symbol string, side Side, qty, limit decimal.Decimal) (int, error) {
	if err := validQty(symbol, qty); err != nil {
		return 0, err
	}
	if side != Buy && side != Sell {
		return 0, fmt.Errorf("%w: side %v", ErrInvalidOrder, side)
	}
	if err := validLimit(limit); err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var id int
	err := a.updateOrders(context.Background(), func(st *storedOrders) error {
		if len(st.Orders) >= a.opts.MaxPending {
			return fmt.Errorf("%w: %d pending, at most %d", ErrTooManyOrders, len(st.Orders), a.opts.MaxPending)
		}
		st.Last++
		id = st.Last
		st.Orders = append(st.Orders, storedOrder{LiveOrder: LiveOrder{ID: id, Symbol: symbol, Side: side, Quantity: qty, Limit: limit, Placed: a.opts.Now()}})
		return nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// Cancel cancels a pending limit order: ErrUnknownOrder if there is none
// with id, ErrOrderFilling while it is being filled.
func (a *Account) Cancel(id int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.updateOrders(context.Background(), func(st *storedOrders) error {
		i := st.index(id)
		if i < 0 {
			return fmt.Errorf("%w: %d", ErrUnknownOrder, id)
		}
		if a.claimed(st.Orders[i]) {
			return fmt.Errorf("%w: %d", ErrOrderFilling, id)
		}
		st.Orders = slices.Delete(st.Orders, i, i+1)
		return nil
	})
}

// claimTimeout is how long a fill's claim on its order holds: a process
// that dies between claiming and booking leaves the claim, and after this
// another may fill the order (its booking under the same transaction id
// is refused if the first got through).
const claimTimeout = time.Minute

// claimed reports whether o is being filled now.
func (a *Account) claimed(o storedOrder) bool {
	return !o.Filling.IsZero() && a.opts.Now().Sub(o.Filling) < claimTimeout
}

// storedOrders is the record Options.Orders keeps: the pending orders and
// the last order id given out, so ids are not given out again.
type storedOrders struct {
	Last   int           `json:"last"`
	Orders []storedOrder `json:"orders"`
}

// storedOrder is a pending order and, while a fill is under way, when it
// was claimed.
type storedOrder struct {
	LiveOrder
	Filling time.Time `json:"filling,omitzero"`
}

func (st *storedOrders) index(id int) int {
	return slices.IndexFunc(st.Orders, func(o storedOrder) bool { return o.ID == id })
}

// updateOrders changes the pending orders with change: in the kept record
// in one StateStore.UpdateState (Options.Orders), else in memory. On
// success the account's copy is what was stored; on error nothing
// changed. The caller holds a.mu.
func (a *Account) updateOrders(ctx context.Context, change func(*storedOrders) error) error {
	if a.opts.Orders == nil {
		st := storedOrders{Last: a.mem.Last, Orders: slices.Clone(a.mem.Orders)}
		if err := change(&st); err != nil {
			return err
		}
		a.mem = st
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var next storedOrders
	err := a.opts.Orders.UpdateState(ctx, a.ordersKey, func(cur []byte) ([]byte, error) {
		st, err := decodeOrders(cur)
		if err != nil {
			return nil, err
		}
		if err := change(&st); err != nil {
			return nil, err
		}
		next = st
		return json.Marshal(st)
	})
	if err != nil {
		if errors.Is(err, ErrTooManyOrders) || errors.Is(err, ErrUnknownOrder) || errors.Is(err, ErrOrderFilling) {
			return err
		}
		return fmt.Errorf("papertrade: save pending orders: %w", err)
	}
	a.mem = next
	return nil
}

func decodeOrders(data []byte) (storedOrders, error) {
	var st storedOrders
	if data == nil {
		return st, nil
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("papertrade: load pending orders: %w", err)
	}
	return st, nil
}

// loadOrders reads the pending orders kept by Options.Orders into the
// account's copy (another process may have changed them).
func (a *Account) loadOrders(ctx context.Context) error {
	if a.opts.Orders == nil {
		return nil
	}
	data, err := a.opts.Orders.State(ctx, a.ordersKey)
	if errors.Is(err, portfolio.ErrNotFound) {
		data, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("papertrade: load pending orders: %w", err)
	}
	st, err := decodeOrders(data)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.mem = st
	a.mu.Unlock()
	return nil
}

// Refresher is a Booker that can read its books again (LedgerStore): Poll
// calls it, so an account shows what other processes booked.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// Poll reads the pending orders (and, with a Refresher, the books) as
// stored, asks for fresh quotes and fills the pending limit orders they
// cross, at the quote (with slippage) but never worse than the limit.
// Orders that cross but cannot be paid for stay pending; their errors are
// joined into the returned error. An order another process is filling is
// left to it.
func (a *Account) Poll(ctx context.Context) ([]Execution, error) {
	if err := a.refresh(ctx); err != nil {
		return nil, err
	}
	a.mu.Lock()
	pending := slices.Clone(a.mem.Orders)
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
		price, ok := a.crossing(o.LiveOrder, p)
		if !ok {
			continue
		}
		a.mu.Lock()
		ex, filled, err := a.fillPendingLocked(ctx, o.ID, price)
		a.mu.Unlock()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("order %d: %w", o.ID, err))
		case filled:
			fills = append(fills, ex)
		}
	}
	return fills, errors.Join(errs...)
}

// refresh reads the books (Refresher) and the pending orders as stored.
func (a *Account) refresh(ctx context.Context) error {
	if r, ok := a.opts.Book.(Refresher); ok {
		if err := r.Refresh(ctx); err != nil {
			return fmt.Errorf("papertrade: read books: %w", err)
		}
		a.mu.Lock()
		err := a.syncLocked()
		a.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return a.loadOrders(ctx)
}

// crossing returns the fill price of o at quote p, if p crosses it.
func (a *Account) crossing(o LiveOrder, p decimal.Decimal) (decimal.Decimal, bool) {
	switch {
	case p.IsZero():
		return decimal.Decimal{}, false
	case o.Side == Buy && p.LessThanOrEqual(o.Limit):
		return decimal.Min(p.Mul(decimal.NewFromInt(1).Add(a.slip)), o.Limit), true
	case o.Side == Sell && p.GreaterThanOrEqual(o.Limit):
		return decimal.Max(p.Mul(decimal.NewFromInt(1).Sub(a.slip)), o.Limit), true
	}
	return decimal.Decimal{}, false
}

// fillPendingLocked fills pending order id at price: it claims the order
// in the kept record (unless it is gone or claimed: then filled is false),
// books the fill under the order's own transaction id and then removes
// the order; if the booking fails the claim is released and the order
// stays pending. A booking refused as a duplicate id means an earlier
// claimer booked it and died: the order is removed, not filled again.
func (a *Account) fillPendingLocked(ctx context.Context, id int, price decimal.Decimal) (ex Execution, filled bool, err error) {
	var o storedOrder
	err = a.updateOrders(ctx, func(st *storedOrders) error {
		i := st.index(id)
		if i < 0 || a.claimed(st.Orders[i]) {
			return nil
		}
		st.Orders[i].Filling = a.opts.Now()
		o = st.Orders[i]
		return nil
	})
	if err != nil || o.ID == 0 {
		return Execution{}, false, err
	}
	ex, err = a.fillLocked(o.ID, a.orderTxID(o.LiveOrder), o.Symbol, o.Side, o.Quantity, price)
	booked := err == nil || errors.Is(err, portfolio.ErrDuplicateID)
	rerr := a.updateOrders(ctx, func(st *storedOrders) error {
		if i := st.index(id); i >= 0 {
			if booked {
				st.Orders = slices.Delete(st.Orders, i, i+1)
			} else {
				st.Orders[i].Filling = time.Time{}
			}
		}
		return nil
	})
	if err != nil {
		if booked {
			return Execution{}, false, nil
		}
		return Execution{}, false, errors.Join(err, rerr)
	}
	return ex, true, rerr
}

// orderTxID is the transaction id of o's fill: the same in every process,
// so a second booking of it is refused.
func (a *Account) orderTxID(o LiveOrder) string {
	return "paper-" + a.opts.ID + "-order-" + strconv.Itoa(o.ID) + "-" + strconv.FormatInt(o.Placed.UnixNano(), 36)
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

// Orders returns the pending limit orders as last read or changed by this
// Account (Poll reads them again), oldest first.
func (a *Account) Orders() []LiveOrder {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]LiveOrder, len(a.mem.Orders))
	for i, o := range a.mem.Orders {
		out[i] = o.LiveOrder
	}
	return out
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
		a.opts.ID, a.cash.StringFixed(2), a.opts.Currency, len(a.positions), len(a.mem.Orders))
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
