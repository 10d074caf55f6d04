package portfolio

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// maxExponent bounds the decimal exponents a transaction may carry, so
// products stay far from the int32 exponent limit of the decimal package.
const maxExponent = 1000

// one is the FX rate of a transaction in the account currency. Decimals are
// immutable, so sharing it is safe.
var one = decimal.NewFromInt(1)

// Ledger books transactions into accounts: cash, positions with cost-basis
// lots, realized gains, income and costs. It is safe for concurrent use;
// Apply takes a write lock, the read methods a read lock.
//
// # Ordering
//
// Transactions are applied in time order, stable for equal times (the order
// in the batch, and earlier batches before later ones). A batch whose earliest
// transaction is not older than everything already applied is appended
// directly; a back-dated batch makes the ledger replay its whole history with
// the new transactions merged in (slower, but the result is the same as if
// everything had arrived in order).
//
// # Atomicity
//
// Apply validates while it books and keeps an undo log; if any transaction in
// the batch is rejected, the log is rolled back and the ledger is exactly as
// before. Nothing is deep-copied on the fast path.
//
// # Cost basis
//
// Each account uses FIFO lots (the default) or a pooled average cost
// (Account.CostMethod). The basis of a buy is what left the cash account:
// quantity × price + fee + tax, converted to the account currency with the
// transaction's FXRate and rounded to the account currency's minor units
// with banker's rounding. The proceeds of a sell are quantity × price − fee −
// tax, converted and rounded the same way. The local basis and proceeds (in
// the instrument currency) are the same amounts before conversion, rounded
// to the instrument currency's minor units; for a trade in the account
// currency they are the basis and proceeds themselves, so rounding never
// shows up as a currency effect. Realized gain = proceeds − basis of the
// units closed; a partly closed lot gives up basis pro rata, the share
// computed to 16 decimal places (decimal.DivisionPrecision) and the
// remainder keeping exactly the rest, so the parts add up to the whole. Each lot closed by a FIFO sell gives one
// RealizedGain with the lot's acquisition date; an average-cost sell gives
// one RealizedGain with a zero acquisition date. Splits multiply quantities
// and keep the basis, realizing nothing; a ratio that rounds a lot (or an
// average-cost holding) to zero units is refused.
//
// When the account allows shorts, a sell beyond the holding opens a short
// lot whose basis is minus the proceeds; a later buy covers short lots first.
//
// # Transfers
//
// A transfer_out of securities removes lots (FIFO, or pro rata under average
// cost) without realizing anything. A transfer_in of the same symbol with
// Price zero on the same day (the calendar date as recorded, in the zone
// of each Time), booked after it, takes those lots over
// (FIFO across the day's transfer_outs), acquisition dates, basis and local
// basis included, and the receiving position is in the instrument's
// currency whatever the transfer_in's Currency says (empty, the account's
// or the instrument's). A lot from an account in the receiving currency
// keeps its basis; a lot from an account in another currency keeps its
// date and local basis, and its basis becomes the local basis when the
// instrument trades in the receiving account's currency, else the local
// basis at the transfer_in's FXRate (with Currency set to the
// instrument's), rounded to the receiving currency's minor units. This is
// decided lot by lot, so one transfer_in may take lots from accounts in
// different currencies.
//
// Lots not taken over by the end of the day have left the portfolio (a
// delivery to a broker the ledger does not track); a later transfer_in
// never inherits them. A transfer_in at Price zero that finds fewer units
// moved out that day fails with ErrUnmatchedTransfer; one with a Price
// opens a new lot at that cost per unit (a delivery from outside).
// Transfers count as contributions (in) and withdrawals (out) of the
// account, securities at their basis (Performance counts them at market).
//
// Transactions without an ID get "auto-N". Cash is booked in the account
// currency and rounded to its minor units; quantities, prices and bases are
// exact.
//
// The zero Ledger is an empty ledger without accounts, ready to use, like
// NewLedger(). A Ledger must not be copied after first use.
type Ledger struct {
	mu      sync.RWMutex
	accts   map[string]*acctState
	order   []*acctState
	ids     idIndex // id → index in txs
	txs     txLog
	last    time.Time
	pending map[string][]pendingLot
	stocks  map[string]Stock
	// symIDs numbers every symbol a position was ever opened for (ids are
	// never reused or removed, also not by a rollback), so that Value can
	// index a slice by position instead of hashing symbols.
	symIDs map[string]int32
	// hcMu guards the positions' holding caches (position.hc), which Value
	// updates while holding only the read lock.
	hcMu     sync.Mutex
	epoch    uint64
	undo     undoLog
	nextAuto int
	// gen counts the changes to the books (accounts added, batches
	// applied), so a Series can tell that it is up to date.
	gen uint64
}

// acctState is the mutable state of one account.
type acctState struct {
	acct      Account
	minor     int32
	positions map[string]*position
	bySymbol  []*position // every position, ordered by symbol
	realized  chunkLog[realRec]
	epoch     uint64
	s         acctScalars
}

// acctScalars are the account totals, snapshotted once per batch for undo.
type acctScalars struct {
	// The totals are exact sums kept in int64 form while they fit, so
	// booking into them allocates nothing.
	cash        total
	dividends   total
	interest    total
	fees        total
	taxes       total
	deposits    total
	withdrawals total
	realizedN   int   // entries of acctState.realized that count
	gain        total // sum of realized Gain
	fxEffect    total // sum of realized Gain − LocalGain × FXRate
}

// position is the mutable state of one symbol in one account.
type position struct {
	symbol string
	symID  int32 // the symbol's number in Ledger.symIDs
	epoch  uint64
	s      posScalars
	// hc is the last valuation's amounts (see holdingCache), nil before
	// the first; Value reads and writes it holding Ledger.hcMu.
	hc *holdingCache
}

type posScalars struct {
	currency   string
	qty        total // exact, int64 form while it fits
	basis      total // account currency
	localBasis total // instrument currency
	lots       []lotRec
	head       int
	lastPrice  decimal.Decimal
	lastTime   time.Time
}

// lotRec is an open lot as the ledger keeps it: its numbers as totals
// (pointer-free while they fit 128 bits), a Lot when read.
type lotRec struct {
	acquired               time.Time
	qty, basis, localBasis total
	txID                   string
}

// pub returns the lot as the public Lot (the same values and exponents).
func (r *lotRec) pub() Lot {
	return Lot{Acquired: r.acquired, Quantity: r.qty.dec(), Basis: r.basis.dec(), LocalBasis: r.localBasis.dec(), TxID: r.txID}
}

// lotRecOf returns lot as a lotRec.
func lotRecOf(lot Lot) lotRec {
	return lotRec{acquired: lot.Acquired, qty: totalOf(lot.Quantity), basis: totalOf(lot.Basis), localBasis: totalOf(lot.LocalBasis), txID: lot.TxID}
}

// realRec is a RealizedGain as the ledger keeps it: amounts as totals,
// the account filled in when read.
type realRec struct {
	symbol           string
	acquired, closed time.Time
	qty, proceeds    total
	basis, gain      total
	localGain        total
	fx               decimal.Decimal
	txID             string
}

// pub returns the record as the public RealizedGain of account.
func (r *realRec) pub(account string) RealizedGain {
	g := RealizedGain{
		Account: account, Symbol: r.symbol, Acquired: r.acquired, Closed: r.closed,
		Quantity: r.qty.dec(), Proceeds: r.proceeds.dec(), Basis: r.basis.dec(), Gain: r.gain.dec(),
		FXRate: r.fx, TxID: r.txID,
	}
	if sameTotal(r.localGain, r.gain) {
		g.LocalGain = g.Gain
	} else {
		g.LocalGain = r.localGain.dec()
	}
	return g
}

// pendingLot is a lot moved out by a transfer_out, waiting for a
// transfer_in on the same day.
type pendingLot struct {
	lot      Lot
	acctCcy  string
	currency string
	day      time.Time // localDay of the transfer_out
}

// localDay is t's calendar date as recorded (in t's own zone), as a UTC
// midnight for comparing.
func localDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

type undoKind uint8

const (
	undoAcct undoKind = iota
	undoPos
	undoNewPos
	undoLot
	undoPending
)

// undoLog is the rollback log of one batch: small records in the order
// they were made, each pointing (idx) into a slice of snapshots of its own
// type, so that recording copies only the snapshot it needs and clearing
// the log at the end of a batch touches only what was used.
type undoLog struct {
	recs  []undoRec
	accts []acctScalars
	poss  []posScalars
	lots  []lotUndo
	pends []pendUndo
}

// undoRec is one entry of the rollback log.
type undoRec struct {
	kind undoKind
	idx  int32 // index into the undoLog slice of its kind
	acct *acctState
	pos  *position
	key  string
}

// lotUndo is a lot as it was before a partial close changed it.
type lotUndo struct {
	lots []lotRec
	idx  int
	lot  lotRec
}

// pendUndo is the pending transfer lots of a symbol before they changed.
type pendUndo struct {
	pend []pendingLot
	had  bool
}

// reset empties the log, dropping what it referenced.
func (u *undoLog) reset() {
	clear(u.recs)
	clear(u.accts)
	clear(u.poss)
	clear(u.lots)
	clear(u.pends)
	u.recs, u.accts, u.poss, u.lots, u.pends = u.recs[:0], u.accts[:0], u.poss[:0], u.lots[:0], u.pends[:0]
}

// Lot is an open tax lot: units acquired together. Quantity is negative for
// a short lot; Basis (account currency) and LocalBasis (instrument currency)
// then are minus the proceeds.
type Lot struct {
	Acquired   time.Time       `json:"acquired"`
	Quantity   decimal.Decimal `json:"quantity"`
	Basis      decimal.Decimal `json:"basis"`
	LocalBasis decimal.Decimal `json:"local_basis"`
	TxID       string          `json:"tx_id"`
}

// RealizedGain is the gain or loss of closing (part of) a position: one per
// FIFO lot closed, one per average-cost sell. Quantity is positive when a
// long position was sold and negative when a short was covered. Proceeds is
// the cash attributed to the closing units (negative when covering a short),
// Basis what they cost, Gain = Proceeds − Basis, all in the account currency;
// LocalGain is the same in the instrument currency, so Gain − LocalGain × FX
// is the currency effect.
type RealizedGain struct {
	Account   string          `json:"account"`
	Symbol    string          `json:"symbol"`
	Acquired  time.Time       `json:"acquired"` // zero under average cost
	Closed    time.Time       `json:"closed"`
	Quantity  decimal.Decimal `json:"quantity"`
	Proceeds  decimal.Decimal `json:"proceeds"`
	Basis     decimal.Decimal `json:"basis"`
	Gain      decimal.Decimal `json:"gain"`
	LocalGain decimal.Decimal `json:"local_gain"`
	FXRate    decimal.Decimal `json:"fx_rate"` // instrument → account currency at closing
	TxID      string          `json:"tx_id"`
}

// NewLedger returns an empty ledger with the given accounts. Accounts need
// an ID and a Currency; an empty Kind means brokerage and an empty
// CostMethod means FIFO.
func NewLedger(accounts ...Account) (*Ledger, error) {
	l := &Ledger{}
	l.initLocked()
	for _, a := range accounts {
		if err := l.addAccount(a); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// initLocked makes the zero Ledger usable: every method that writes calls
// it with the write lock held (reads of the zero value need nothing).
func (l *Ledger) initLocked() {
	if l.accts != nil {
		return
	}
	l.accts = make(map[string]*acctState)
	l.ids = newIDIndex(0)
	l.pending = make(map[string][]pendingLot)
	l.stocks = make(map[string]Stock)
}

// AddAccount adds an account to the ledger.
func (l *Ledger) AddAccount(a Account) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	return l.addAccount(a)
}

func (l *Ledger) addAccount(a Account) error {
	a, err := normalizeAccount(a)
	if err != nil {
		return err
	}
	if _, ok := l.accts[a.ID]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateAccount, a.ID)
	}
	st := &acctState{acct: a, minor: MinorUnits(a.Currency), positions: make(map[string]*position)}
	l.accts[a.ID] = st
	l.order = append(l.order, st)
	l.gen++
	return nil
}

// normalizeAccount fills defaults and validates a.
func normalizeAccount(a Account) (Account, error) {
	if a.ID == "" {
		return a, fmt.Errorf("%w: missing id", ErrInvalidAccount)
	}
	if !validCurrency(a.Currency) {
		return a, fmt.Errorf("%w: account %q: currency %q is not a currency code", ErrInvalidAccount, a.ID, a.Currency)
	}
	switch a.Kind {
	case "":
		a.Kind = KindBrokerage
	case KindBrokerage, KindBank, KindCrypto, KindCash:
	default:
		return a, fmt.Errorf("%w: account %q: unknown kind %q", ErrInvalidAccount, a.ID, a.Kind)
	}
	switch a.CostMethod {
	case "":
		a.CostMethod = FIFO
	case FIFO, AverageCost:
	default:
		return a, fmt.Errorf("%w: account %q: unknown cost method %q", ErrInvalidAccount, a.ID, a.CostMethod)
	}
	return a, nil
}

// validCurrency accepts 3 to 5 upper-case letters or digits (ISO 4217 codes
// and common crypto tickers).
func validCurrency(c string) bool {
	if len(c) < 3 || len(c) > 5 {
		return false
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if (ch < 'A' || ch > 'Z') && (ch < '0' || ch > '9') {
			return false
		}
	}
	return true
}

// AddStocks registers instruments so valuation knows their asset class and
// name. A later registration of the same symbol replaces the earlier one.
func (l *Ledger) AddStocks(stocks ...Stock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	for _, s := range stocks {
		l.stocks[s.Symbol] = s
	}
}

// Stock returns the registered instrument for symbol.
func (l *Ledger) Stock(symbol string) (Stock, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, ok := l.stocks[symbol]
	return s, ok
}

// Apply validates and books txs as one atomic batch: either all are applied
// or, on the first rejected transaction, none is and the ledger is unchanged.
// The error names the rejected transaction and wraps a sentinel error
// (ErrInsufficientFunds, ErrDuplicateID, …). txs itself is not modified.
func (l *Ledger) Apply(txs ...Transaction) error {
	if len(txs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	return l.applyLocked(txs)
}

// applyLocked is Apply with the write lock held.
func (l *Ledger) applyLocked(txs []Transaction) error {
	if len(txs) == 0 {
		return nil
	}
	batch := txs
	if !slices.IsSortedFunc(batch, cmpTxTime) {
		batch = slices.Clone(txs)
		slices.SortStableFunc(batch, cmpTxTime)
	}
	var err error
	if batch[0].Time.Before(l.last) {
		err = l.replay(batch)
	} else {
		err = l.applyBatch(batch)
	}
	if err == nil {
		l.gen++
	}
	return err
}

func cmpTxTime(a, b Transaction) int { return a.Time.Compare(b.Time) }

// replay rebuilds the ledger with batch merged into the history.
func (l *Ledger) replay(batch []Transaction) error {
	merged := make([]Transaction, 0, l.txs.len()+len(batch))
	merged = append(merged, l.txs.all()...)
	merged = append(merged, batch...)
	slices.SortStableFunc(merged, cmpTxTime)
	fresh := &Ledger{
		accts:    make(map[string]*acctState, len(l.accts)),
		ids:      newIDIndex(len(merged)),
		pending:  make(map[string][]pendingLot),
		stocks:   l.stocks,
		nextAuto: l.nextAuto,
	}
	for _, st := range l.order {
		if err := fresh.addAccount(st.acct); err != nil {
			return err
		}
	}
	if err := fresh.applyBatch(merged); err != nil {
		return err
	}
	l.accts, l.order, l.ids, l.txs = fresh.accts, fresh.order, fresh.ids, fresh.txs
	l.last, l.pending, l.nextAuto = fresh.last, fresh.pending, fresh.nextAuto
	l.symIDs = fresh.symIDs
	// Later batches must see the fresh state as untouched.
	l.epoch = max(l.epoch, fresh.epoch)
	l.undo = undoLog{}
	return nil
}

// applyBatch books a time-ordered batch that starts at or after l.last.
func (l *Ledger) applyBatch(batch []Transaction) error {
	l.epoch++
	l.undo.reset()
	// Size the id index once for the whole batch.
	l.ids.reserve(l.ids.len() + len(batch))
	txLen, last, nextAuto := l.txs.len(), l.last, l.nextAuto
	for i := range batch {
		tx := batch[i]
		if err := l.applyOne(&tx); err != nil {
			l.rollback()
			for i := txLen; i < l.txs.len(); i++ {
				l.ids.del(l.txs.at(i).ID, &l.txs)
			}
			l.txs.truncate(txLen)
			l.last, l.nextAuto = last, nextAuto
			return fmt.Errorf("portfolio: transaction %d of %d (id %q, %s %s): %w", i+1, len(batch), batch[i].ID, batch[i].Kind, batch[i].Account, err)
		}
	}
	l.undo.reset()
	return nil
}

// rollback undoes the log in reverse order.
func (l *Ledger) rollback() {
	for i := len(l.undo.recs) - 1; i >= 0; i-- {
		u := &l.undo.recs[i]
		switch u.kind {
		case undoAcct:
			u.acct.s = l.undo.accts[u.idx]
			u.acct.realized.truncate(u.acct.s.realizedN)
			u.acct.epoch = 0
		case undoPos:
			u.pos.s = l.undo.poss[u.idx]
			u.pos.epoch = 0
		case undoNewPos:
			delete(u.acct.positions, u.key)
			u.acct.removeSorted(u.key)
		case undoLot:
			lu := &l.undo.lots[u.idx]
			lu.lots[lu.idx] = lu.lot
		case undoPending:
			if pu := &l.undo.pends[u.idx]; pu.had {
				l.pending[u.key] = pu.pend
			} else {
				delete(l.pending, u.key)
			}
		}
	}
	l.undo.reset()
}

// touchAcct records a's totals once per batch before they change.
func (l *Ledger) touchAcct(a *acctState) {
	if a.epoch != l.epoch {
		l.undo.recs = append(l.undo.recs, undoRec{kind: undoAcct, idx: int32(len(l.undo.accts)), acct: a})
		l.undo.accts = append(l.undo.accts, a.s)
		a.epoch = l.epoch
	}
}

// touchPos records p once per batch before it changes.
func (l *Ledger) touchPos(p *position) {
	if p.epoch != l.epoch {
		l.undo.recs = append(l.undo.recs, undoRec{kind: undoPos, idx: int32(len(l.undo.poss)), pos: p})
		l.undo.poss = append(l.undo.poss, p.s)
		p.epoch = l.epoch
	}
}

// touchPending records the pending transfer lots of symbol before they change.
func (l *Ledger) touchPending(symbol string) {
	old, had := l.pending[symbol]
	l.undo.recs = append(l.undo.recs, undoRec{kind: undoPending, idx: int32(len(l.undo.pends)), key: symbol})
	l.undo.pends = append(l.undo.pends, pendUndo{pend: old, had: had})
}

// getPos returns the position for symbol, creating it (with an undo entry)
// when create is set.
func (l *Ledger) getPos(a *acctState, symbol string, create bool) *position {
	p := a.positions[symbol]
	if p == nil && create {
		id, ok := l.symIDs[symbol]
		if !ok {
			if l.symIDs == nil {
				l.symIDs = make(map[string]int32)
			}
			id = int32(len(l.symIDs))
			l.symIDs[symbol] = id
		}
		p = &position{symbol: symbol, symID: id, epoch: l.epoch}
		a.positions[symbol] = p
		a.insertSorted(p)
		l.undo.recs = append(l.undo.recs, undoRec{kind: undoNewPos, acct: a, key: symbol})
	}
	return p
}

// insertSorted adds p to a.bySymbol, keeping the symbol order.
func (a *acctState) insertSorted(p *position) {
	i, _ := slices.BinarySearchFunc(a.bySymbol, p.symbol, func(q *position, s string) int { return strings.Compare(q.symbol, s) })
	a.bySymbol = slices.Insert(a.bySymbol, i, p)
}

// removeSorted drops the position for symbol from a.bySymbol.
func (a *acctState) removeSorted(symbol string) {
	i, ok := slices.BinarySearchFunc(a.bySymbol, symbol, func(q *position, s string) int { return strings.Compare(q.symbol, s) })
	if ok {
		a.bySymbol = slices.Delete(a.bySymbol, i, i+1)
	}
}

// applyOne validates and books one transaction.
func (l *Ledger) applyOne(tx *Transaction) error {
	a := l.accts[tx.Account]
	if a == nil {
		return fmt.Errorf("%w: %q", ErrUnknownAccount, tx.Account)
	}
	if tx.Time.IsZero() {
		return fmt.Errorf("%w: missing time", ErrInvalidTransaction)
	}
	if tx.ID == "" {
		l.nextAuto++
		tx.ID = "auto-" + strconv.Itoa(l.nextAuto)
	}
	idHash := l.ids.idHash(tx.ID)
	if l.ids.has(tx.ID, idHash, &l.txs) {
		return fmt.Errorf("%w: %q", ErrDuplicateID, tx.ID)
	}
	if tx.Currency == "" {
		tx.Currency = a.acct.Currency
	}
	var fx decimal.Decimal
	var err error
	if securitiesTransfer(tx) {
		// Which rate a securities transfer needs (if any) depends on the
		// lots it moves: transferIn checks it.
		if tx.FXRate.Sign() < 0 {
			return fmt.Errorf("%w: negative FX rate", ErrInvalidAmount)
		}
		if !validCurrency(tx.Currency) {
			return fmt.Errorf("%w: %q is not a currency code", ErrCurrencyMismatch, tx.Currency)
		}
	} else if fx, err = txFX(a, tx); err != nil {
		return err
	}
	if tx.Fee.Sign() < 0 || tx.Tax.Sign() < 0 {
		return fmt.Errorf("%w: fee and tax must not be negative", ErrInvalidAmount)
	}
	for _, x := range [...]*decimal.Decimal{&tx.Quantity, &tx.Price, &tx.Fee, &tx.Tax, &tx.Amount, &tx.FXRate} {
		if e := x.Exponent(); e > maxExponent || e < -maxExponent {
			return fmt.Errorf("%w: a number has exponent %d, outside ±%d", ErrInvalidAmount, e, maxExponent)
		}
	}
	switch tx.Kind {
	case TxBuy, TxSell:
		err = l.trade(a, tx, fx)
	case TxDeposit, TxWithdrawal, TxInterest, TxFee, TxTax:
		err = l.cashOnly(a, tx, fx)
	case TxDividend:
		err = l.dividend(a, tx, fx)
	case TxTransferIn, TxTransferOut:
		if tx.Symbol == "" {
			err = l.cashOnly(a, tx, fx)
		} else if tx.Kind == TxTransferOut {
			err = l.transferOut(a, tx)
		} else {
			err = l.transferIn(a, tx)
		}
	case TxSplit:
		err = l.split(a, tx)
	default:
		err = fmt.Errorf("%w: unknown kind %q", ErrInvalidTransaction, tx.Kind)
	}
	if err != nil {
		return err
	}
	l.ids.insertAbsent(idHash, l.txs.len())
	l.txs.append(tx)
	l.last = tx.Time
	return nil
}

// txFX returns the rate from the transaction currency to the account
// currency; a zero Decimal means "same currency, no conversion".
func txFX(a *acctState, tx *Transaction) (decimal.Decimal, error) {
	if tx.FXRate.Sign() < 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: negative FX rate", ErrInvalidAmount)
	}
	if tx.Currency == a.acct.Currency {
		return decimal.Decimal{}, nil
	}
	if !validCurrency(tx.Currency) {
		return decimal.Decimal{}, fmt.Errorf("%w: %q is not a currency code", ErrCurrencyMismatch, tx.Currency)
	}
	if tx.FXRate.Sign() == 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: %s transaction in a %s account needs an FX rate", ErrCurrencyMismatch, tx.Currency, a.acct.Currency)
	}
	return tx.FXRate, nil
}

// toAcct converts a transaction-currency amount to the account currency and
// rounds it to the account's minor units.
func toAcct(a *acctState, amount, fx decimal.Decimal) decimal.Decimal {
	if fx.Sign() != 0 {
		amount = mulDec(amount, fx)
	}
	return roundTo(amount, a.minor)
}

// addCash books delta to a's cash, refusing to go negative without margin
// when delta is an outflow.
func (l *Ledger) addCash(a *acctState, delta decimal.Decimal) error {
	if delta.Sign() < 0 {
		return l.moveCash(a, delta.Neg(), true)
	}
	return l.moveCash(a, delta, false)
}

// moveCash adds amount to a's cash, or takes it out when out is set; taking
// out more than there is fails without margin. A negative amount moves the
// other way (a sell whose fees exceed the proceeds).
func (l *Ledger) moveCash(a *acctState, amount decimal.Decimal, out bool) error {
	return l.moveCashT(a, totalOf(amount), out)
}

// moveCashT is moveCash with the amount as a total.
func (l *Ledger) moveCashT(a *acctState, amount total, out bool) error {
	if amount.sign() == 0 {
		return nil
	}
	var next total
	if out {
		next = a.s.cash.subT(amount)
	} else {
		next = a.s.cash.addT(amount)
	}
	// next < cash exactly when the move is an outflow: a positive amount
	// taken out or a negative amount put in.
	if next.sign() < 0 && (amount.sign() > 0) == out && !a.acct.AllowMargin {
		need := amount.dec()
		if !out {
			need = need.Neg()
		}
		return fmt.Errorf("%w: cash %s, needs %s", ErrInsufficientFunds,
			FormatMoney(a.s.cash.dec(), a.acct.Currency), FormatMoney(need, a.acct.Currency))
	}
	l.touchAcct(a)
	a.s.cash = next
	return nil
}

// cashOnly books deposits, withdrawals, interest, fees, taxes and cash transfers.
func (l *Ledger) cashOnly(a *acctState, tx *Transaction, fx decimal.Decimal) error {
	if tx.Amount.Sign() <= 0 {
		return fmt.Errorf("%w: %s amount must be positive, got %s", ErrInvalidAmount, tx.Kind, tx.Amount)
	}
	amt := toAcct(a, tx.Amount, fx)
	// Fee and tax are rounded apart, as on a dividend: the tax (withholding
	// tax on interest) is booked as a tax, the fee as a fee.
	fee, tax := decimal.Zero, decimal.Zero
	if tx.Fee.Sign() != 0 {
		fee = toAcct(a, tx.Fee, fx)
	}
	if tx.Tax.Sign() != 0 {
		tax = toAcct(a, tx.Tax, fx)
	}
	charges := fee
	if tax.Sign() != 0 {
		charges = addDec(charges, tax)
	}
	var err error
	switch tx.Kind {
	case TxDeposit, TxTransferIn, TxInterest:
		if charges.Sign() != 0 {
			err = l.addCash(a, subDec(amt, charges))
		} else {
			err = l.moveCash(a, amt, false)
		}
	default:
		if charges.Sign() != 0 {
			err = l.moveCash(a, addDec(amt, charges), true)
		} else {
			err = l.moveCash(a, amt, true)
		}
	}
	if err != nil {
		return err
	}
	l.touchAcct(a)
	switch tx.Kind {
	case TxDeposit, TxTransferIn:
		a.s.deposits = a.s.deposits.add(amt)
	case TxWithdrawal, TxTransferOut:
		a.s.withdrawals = a.s.withdrawals.add(amt)
	case TxInterest:
		a.s.interest = a.s.interest.add(amt)
	case TxFee:
		a.s.fees = a.s.fees.add(amt)
	case TxTax:
		a.s.taxes = a.s.taxes.add(amt)
	}
	if fee.Sign() != 0 {
		a.s.fees = a.s.fees.add(fee)
	}
	if tax.Sign() != 0 {
		a.s.taxes = a.s.taxes.add(tax)
	}
	return nil
}

// dividend books a dividend: gross Amount (or Quantity × Price) less Fee and
// withholding Tax.
func (l *Ledger) dividend(a *acctState, tx *Transaction, fx decimal.Decimal) error {
	if tx.Symbol == "" {
		return fmt.Errorf("%w: dividend without symbol", ErrInvalidTransaction)
	}
	gross := tx.Amount
	if gross.Sign() == 0 && tx.Quantity.Sign() > 0 && tx.Price.Sign() > 0 {
		gross = mulDec(tx.Quantity, tx.Price)
	}
	if gross.Sign() <= 0 {
		return fmt.Errorf("%w: dividend amount must be positive", ErrInvalidAmount)
	}
	g := toAcct(a, gross, fx)
	fee, tax := toAcct(a, tx.Fee, fx), toAcct(a, tx.Tax, fx)
	net := g
	if fee.Sign() != 0 {
		net = subDec(net, fee)
	}
	if tax.Sign() != 0 {
		net = subDec(net, tax)
	}
	if err := l.addCash(a, net); err != nil {
		return err
	}
	l.touchAcct(a)
	a.s.dividends = a.s.dividends.add(g)
	if fee.Sign() != 0 {
		a.s.fees = a.s.fees.add(fee)
	}
	if tax.Sign() != 0 {
		a.s.taxes = a.s.taxes.add(tax)
	}
	return nil
}

// trade books a buy or a sell.
func (l *Ledger) trade(a *acctState, tx *Transaction, fx decimal.Decimal) error {
	if tx.Symbol == "" {
		return fmt.Errorf("%w: %s without symbol", ErrInvalidTransaction, tx.Kind)
	}
	if tx.Quantity.Sign() <= 0 {
		return fmt.Errorf("%w: got %s", ErrInvalidQuantity, tx.Quantity)
	}
	if tx.Price.Sign() < 0 {
		return fmt.Errorf("%w: got %s", ErrInvalidPrice, tx.Price)
	}
	buy := tx.Kind == TxBuy
	// What the trade costs (buy) or brings in (sell), fees and taxes
	// included, in the instrument and in the account currency.
	localT := tradeAmountT(tx.Quantity, tx.Price, tx.Fee, tx.Tax, buy)
	var amountT total
	switch {
	case fx.Sign() == 0 && localT.narrow() && localT.e >= -a.minor:
		amountT = localT // roundTo would return it as it is
	case fx.Sign() == 0:
		amountT = totalOf(toAcct(a, localT.dec(), fx))
		localT = amountT // the same money: rounded alike
	default:
		amountT = totalOf(toAcct(a, localT.dec(), fx))
		localT = roundLocal(localT, tx.Currency)
	}

	p := a.positions[tx.Symbol]
	if p != nil && p.s.currency != tx.Currency && p.s.qty.sign() != 0 {
		return fmt.Errorf("%w: %s is held in %s, transaction is in %s", ErrCurrencyMismatch, tx.Symbol, p.s.currency, tx.Currency)
	}
	var heldT total
	if p != nil {
		heldT = p.s.qty
	}
	// Fast paths: a buy that opens or extends a long, a sell within a long.
	if buy && heldT.sign() >= 0 {
		if err := l.moveCashT(a, amountT, true); err != nil {
			return err
		}
		p = l.tradedPos(a, p, tx)
		l.open(a, p, lotRec{acquired: tx.Time, qty: totalOf(tx.Quantity), basis: amountT, localBasis: localT, txID: tx.ID})
		return nil
	}
	qT := totalOf(tx.Quantity)
	if !buy && heldT.sign() > 0 && heldT.cmpT(qT) >= 0 {
		if err := l.moveCashT(a, amountT, false); err != nil {
			return err
		}
		p = l.tradedPos(a, p, tx)
		l.close(a, p, tx, qT, amountT, localT, fx, true)
		return nil
	}
	local, amount := localT.dec(), amountT.dec()

	// General case with shorts: signed flows (in positive, out negative)
	// and signed quantities.
	held := heldT.dec()
	dq, flow := tx.Quantity, amount
	if buy {
		local, flow = local.Neg(), amount.Neg()
	} else {
		dq = dq.Neg()
	}
	// Split dq into the part that closes the existing position and the part
	// that opens (or extends) one.
	closeQ, openQ := decimal.Zero, dq
	if held.Sign() != 0 && held.Sign() != dq.Sign() {
		if dq.Abs().Cmp(held.Abs()) <= 0 {
			closeQ, openQ = dq, decimal.Zero
		} else {
			closeQ, openQ = held.Neg(), addDec(dq, held)
		}
	}
	if !buy && openQ.Sign() != 0 && !a.acct.AllowShort {
		return fmt.Errorf("%w: selling %s %s, holding %s", ErrInsufficientHoldings, tx.Quantity, tx.Symbol, held)
	}
	if err := l.moveCash(a, amount, buy); err != nil {
		return err
	}
	p = l.tradedPos(a, p, tx)

	closeFlow, closeLocal := flow, local
	openFlow, openLocal := decimal.Zero, decimal.Zero
	if closeQ.Sign() == 0 {
		closeFlow, closeLocal = decimal.Zero, decimal.Zero
		openFlow, openLocal = flow, local
	} else if openQ.Sign() != 0 {
		closeFlow = mulDiv(flow, closeQ, dq)
		closeLocal = mulDiv(local, closeQ, dq)
		openFlow, openLocal = subDec(flow, closeFlow), subDec(local, closeLocal)
	}
	if closeQ.Sign() != 0 {
		l.close(a, p, tx, totalOf(closeQ.Neg()), totalOf(closeFlow), totalOf(closeLocal), fx, true)
	}
	if openQ.Sign() != 0 {
		l.open(a, p, lotRec{acquired: tx.Time, qty: totalOf(openQ), basis: totalOf(openFlow.Neg()), localBasis: totalOf(openLocal.Neg()), txID: tx.ID})
	}
	return nil
}

// roundLocal rounds an instrument-currency amount to the minor units of
// ccy, as the broker's note states it.
func roundLocal(t total, ccy string) total {
	m := MinorUnits(ccy)
	if t.narrow() && t.e >= -m {
		return t
	}
	return totalOf(roundTo(t.dec(), m))
}

// tradedPos returns the traded position, created and snapshotted, with the
// trade's currency and price recorded.
func (l *Ledger) tradedPos(a *acctState, p *position, tx *Transaction) *position {
	if p == nil {
		p = l.getPos(a, tx.Symbol, true)
	}
	l.touchPos(p)
	p.s.currency = tx.Currency
	p.s.lastPrice, p.s.lastTime = tx.Price, tx.Time
	return p
}

// open adds a lot to p (p already touched).
func (l *Ledger) open(a *acctState, p *position, lot lotRec) {
	p.s.qty = p.s.qty.addT(lot.qty)
	basis := p.s.basis.addT(lot.basis)
	if p.s.localBasis.equalT(p.s.basis) && lot.localBasis.equalT(lot.basis) {
		p.s.localBasis = basis // same amounts: share the sum
	} else {
		p.s.localBasis = p.s.localBasis.addT(lot.localBasis)
	}
	p.s.basis = basis
	if a.acct.CostMethod == FIFO {
		p.s.lots = append(p.s.lots, lot)
	}
}

// close removes q units (same sign as the position, |q| ≤ |held|) from p
// and returns the lots removed. With realize set, flow and local are the
// account- and instrument-currency cash attributed to those units and each
// lot closed books a RealizedGain. The arithmetic is on totals (int64 or
// 128-bit while the numbers fit): the same values and exponents as the
// decimal operations, without allocating.
func (l *Ledger) close(a *acctState, p *position, tx *Transaction, qT, flowT, localT total, fx decimal.Decimal, realize bool) []Lot {
	foreign := fx.Sign() != 0
	if !foreign {
		fx = one
	}
	var removed []Lot
	emit := func(part *lotRec, pFlow, pLocal total) {
		if !realize {
			removed = append(removed, part.pub())
			return
		}
		l.touchAcct(a)
		g := realRec{
			symbol: p.symbol, acquired: part.acquired, closed: tx.Time,
			qty: part.qty, proceeds: pFlow, basis: part.basis, gain: pFlow.subT(part.basis),
			fx: fx, txID: tx.ID,
		}
		if pLocal.equalT(pFlow) && part.localBasis.equalT(part.basis) {
			g.localGain = g.gain
		} else {
			g.localGain = pLocal.subT(part.localBasis)
		}
		a.realized.truncate(a.s.realizedN) // drop entries of a rolled-back batch
		a.realized.append(&g)
		a.s.realizedN = a.realized.len()
		a.s.gain = a.s.gain.addT(g.gain)
		if foreign {
			gain := g.gain.dec()
			a.s.fxEffect = a.s.fxEffect.add(gain.Sub(mulDec(g.localGain.dec(), fx)))
		}
	}
	if a.acct.CostMethod == AverageCost {
		part := lotRec{qty: qT, basis: p.s.basis, localBasis: p.s.localBasis}
		if p.s.qty.cmpT(qT) == 0 {
			p.s.qty, p.s.basis, p.s.localBasis = total{}, total{}, total{}
		} else {
			part.basis, part.localBasis = proRata(p.s.basis, p.s.localBasis, qT, p.s.qty)
			p.s.qty = p.s.qty.subT(qT)
			basis := p.s.basis.subT(part.basis)
			p.s.localBasis = subShared(p.s.localBasis, part.localBasis, p.s.basis, part.basis, basis)
			p.s.basis = basis
		}
		emit(&part, flowT, localT)
		return removed
	}
	sign := qT.sign()
	remaining := qT
	flowLeft, localLeft := flowT, localT
	// In the account currency the instrument-currency amounts are the
	// same numbers (same value and exponent): compute each share once.
	shared := sameTotal(localT, flowT)
	for remaining.sign() != 0 {
		lot := &p.s.lots[p.s.head]
		var part lotRec
		c := lot.qty.cmpT(remaining)
		if c == 0 || (sign > 0 && c < 0) || (sign < 0 && c > 0) {
			part = *lot
			p.s.head++
			if c == 0 {
				remaining = total{}
			} else {
				remaining = remaining.subT(part.qty)
			}
		} else {
			part = lotRec{acquired: lot.acquired, qty: remaining, txID: lot.txID}
			part.basis, part.localBasis = proRata(lot.basis, lot.localBasis, remaining, lot.qty)
			l.undo.recs = append(l.undo.recs, undoRec{kind: undoLot, idx: int32(len(l.undo.lots))})
			l.undo.lots = append(l.undo.lots, lotUndo{lots: p.s.lots, idx: p.s.head, lot: *lot})
			lot.qty = lot.qty.subT(remaining)
			basis := lot.basis.subT(part.basis)
			lot.localBasis = subShared(lot.localBasis, part.localBasis, lot.basis, part.basis, basis)
			lot.basis = basis
			remaining = total{}
		}
		pFlow, pLocal := flowLeft, localLeft
		if remaining.sign() != 0 {
			if realize {
				pFlow = mulDivT(flowT, part.qty, qT)
				if shared {
					pLocal = pFlow
				} else {
					pLocal = mulDivT(localT, part.qty, qT)
				}
			}
			flowLeft = flowLeft.subT(pFlow)
			if shared {
				localLeft = flowLeft
			} else {
				localLeft = localLeft.subT(pLocal)
			}
		}
		if p.s.head == len(p.s.lots) {
			p.s.qty, p.s.basis, p.s.localBasis = total{}, total{}, total{}
		} else {
			p.s.qty = p.s.qty.subT(part.qty)
			basis := p.s.basis.subT(part.basis)
			p.s.localBasis = subShared(p.s.localBasis, part.localBasis, p.s.basis, part.basis, basis)
			p.s.basis = basis
		}
		emit(&part, pFlow, pLocal)
	}
	if p.s.head == len(p.s.lots) {
		// Fully closed: drop the consumed lots (keeping the old array intact
		// for a possible rollback).
		p.s.lots, p.s.head = nil, 0
	} else if p.s.head > 32 && p.s.head > len(p.s.lots)/2 {
		p.s.lots, p.s.head = slices.Clone(p.s.lots[p.s.head:]), 0
	}
	return removed
}

// proRata returns the share q/of of basis and localBasis, computing it once
// when both are the same number (a position in the account currency).
func proRata(basis, localBasis, q, of total) (total, total) {
	b := mulDivT(basis, q, of)
	if localBasis.equalT(basis) {
		return b, b
	}
	return b, mulDivT(localBasis, q, of)
}

// subShared returns local − localPart, reusing basisNew (= basisOld −
// basisPart) when the local amounts equal the account amounts, which is the
// case for positions in the account currency: no second subtraction.
func subShared(local, localPart, basisOld, basisPart, basisNew total) total {
	if local.equalT(basisOld) && localPart.equalT(basisPart) {
		return basisNew
	}
	return local.subT(localPart)
}

// split multiplies the position's quantities by the ratio new:old units,
// Quantity:Price (Price zero means 1), keeping the basis.
func (l *Ledger) split(a *acctState, tx *Transaction) error {
	if tx.Symbol == "" {
		return fmt.Errorf("%w: split without symbol", ErrInvalidTransaction)
	}
	num, den := tx.Quantity, tx.Price
	if den.Sign() == 0 {
		den = one
	}
	if num.Sign() <= 0 || den.Sign() < 0 {
		return fmt.Errorf("%w: split ratio %s:%s", ErrInvalidQuantity, tx.Quantity, den)
	}
	p := a.positions[tx.Symbol]
	if p == nil || p.s.qty.sign() == 0 {
		return fmt.Errorf("%w: split of %s in account %q", ErrNoPosition, tx.Symbol, a.acct.ID)
	}
	// A ratio that rounds units away to nothing would leave a basis
	// without units: refused, before anything changes.
	vanishes := func() error {
		return fmt.Errorf("%w: split ratio %s:%s rounds a holding of %s to zero units", ErrInvalidQuantity, tx.Quantity, den, tx.Symbol)
	}
	if len(p.s.lots) > 0 {
		lots := make([]lotRec, 0, len(p.s.lots)-p.s.head)
		qty := decimal.Zero
		for _, lot := range p.s.lots[p.s.head:] {
			q := splitQty(lot.qty.dec(), num, den)
			if q.Sign() == 0 && lot.qty.sign() != 0 {
				return vanishes()
			}
			lot.qty = totalOf(q)
			qty = addDec(qty, q)
			lots = append(lots, lot)
		}
		l.touchPos(p)
		p.s.lots, p.s.head = lots, 0
		if den.Equal(one) {
			p.s.qty = totalOf(p.s.qty.dec().Mul(num)) // as ever: exact
		} else {
			p.s.qty = totalOf(qty) // the lots' sum, also when rounded
		}
	} else {
		q := splitQty(p.s.qty.dec(), num, den)
		if q.Sign() == 0 {
			return vanishes()
		}
		l.touchPos(p)
		p.s.qty = totalOf(q)
	}
	if p.s.lastPrice.Sign() != 0 {
		p.s.lastPrice = splitPrice(p.s.lastPrice, num, den)
	}
	return nil
}

// splitQty is q × num / den: exact when the quotient is a finite decimal
// (without trailing zeros from the division), else rounded to 16 places.
func splitQty(q, num, den decimal.Decimal) decimal.Decimal {
	p := mulDec(q, num)
	if den.Equal(one) {
		return p
	}
	r := p.DivRound(den, int32(decimal.DivisionPrecision))
	if r.Mul(den).Equal(p) {
		// Exact: drop the zeros DivRound padded with.
		for r.Exponent() < p.Exponent() && r.Exponent() < 0 {
			t := r.Truncate(-r.Exponent() - 1)
			if !t.Equal(r) {
				break
			}
			r = t
		}
	}
	return r
}

// splitPrice is a price after a split of num new units for den old ones,
// to 12 places.
func splitPrice(price, num, den decimal.Decimal) decimal.Decimal {
	if !den.Equal(one) {
		price = price.Mul(den)
	}
	return price.DivRound(num, 12)
}

// securitiesTransfer reports whether tx moves securities (not cash)
// between accounts.
func securitiesTransfer(tx *Transaction) bool {
	return (tx.Kind == TxTransferIn || tx.Kind == TxTransferOut) && tx.Symbol != ""
}

// transferOut moves securities out of the account without realizing. The
// lots wait for a transfer_in on the same day; tx.Currency becomes the
// position's currency.
func (l *Ledger) transferOut(a *acctState, tx *Transaction) error {
	if tx.Quantity.Sign() <= 0 {
		return fmt.Errorf("%w: got %s", ErrInvalidQuantity, tx.Quantity)
	}
	p := a.positions[tx.Symbol]
	if p == nil || p.s.qty.cmp(tx.Quantity) < 0 {
		held := decimal.Zero
		if p != nil {
			held = p.s.qty.dec()
		}
		return fmt.Errorf("%w: transferring %s %s, holding %s", ErrInsufficientHoldings, tx.Quantity, tx.Symbol, held)
	}
	if tx.Currency != a.acct.Currency && tx.Currency != p.s.currency {
		return fmt.Errorf("%w: %s is held in %s, transaction is in %s", ErrCurrencyMismatch, tx.Symbol, p.s.currency, tx.Currency)
	}
	tx.Currency = p.s.currency
	l.touchPos(p)
	basisBefore := p.s.basis
	removed := l.close(a, p, tx, totalOf(tx.Quantity), total{}, total{}, decimal.Zero, false)
	out := basisBefore.subT(p.s.basis).dec()
	l.touchAcct(a)
	a.s.withdrawals = a.s.withdrawals.add(out)
	today := localDay(tx.Time)
	l.touchPending(tx.Symbol)
	pend := pendingOn(l.pending[tx.Symbol], today)
	for _, lot := range removed {
		pend = append(pend, pendingLot{lot: lot, acctCcy: a.acct.Currency, currency: p.s.currency, day: today})
	}
	l.pending[tx.Symbol] = pend
	return nil
}

// pendingOn returns a copy of the pending lots moved out on day; lots of
// earlier days have left the portfolio.
func pendingOn(pend []pendingLot, day time.Time) []pendingLot {
	var out []pendingLot
	for _, pl := range pend {
		if pl.day.Equal(day) {
			out = append(out, pl)
		}
	}
	return out
}

// transferIn moves securities into the account: with Price zero, the lots
// of transfer_outs of the symbol on the same day (FIFO), acquisition dates
// and bases included; with a Price, a new lot at that cost per unit.
func (l *Ledger) transferIn(a *acctState, tx *Transaction) error {
	if tx.Quantity.Sign() <= 0 {
		return fmt.Errorf("%w: got %s", ErrInvalidQuantity, tx.Quantity)
	}
	if tx.Price.Sign() < 0 {
		return fmt.Errorf("%w: got %s", ErrInvalidPrice, tx.Price)
	}
	var lots []Lot
	if tx.Price.Sign() == 0 {
		var err error
		if lots, err = l.takePending(a, tx); err != nil {
			return err
		}
	} else {
		fx, err := txFX(a, tx)
		if err != nil {
			return err
		}
		local := mulDec(tx.Quantity, tx.Price)
		basis := toAcct(a, local, fx)
		local = RoundMoney(local, tx.Currency)
		if fx.Sign() == 0 {
			local = basis
		}
		lots = []Lot{{Acquired: tx.Time, Quantity: tx.Quantity, Basis: basis, LocalBasis: local, TxID: tx.ID}}
	}
	p := a.positions[tx.Symbol]
	if p != nil && p.s.qty.sign() != 0 && p.s.currency != tx.Currency {
		return fmt.Errorf("%w: %s is held in %s, transaction is in %s", ErrCurrencyMismatch, tx.Symbol, p.s.currency, tx.Currency)
	}
	if p != nil && p.s.qty.sign() < 0 {
		return fmt.Errorf("%w: cannot transfer %s into a short position", ErrInvalidTransaction, tx.Symbol)
	}
	p = l.getPos(a, tx.Symbol, true)
	l.touchPos(p)
	p.s.currency = tx.Currency
	l.touchAcct(a)
	for _, lot := range lots {
		l.open(a, p, lotRecOf(lot))
		a.s.deposits = a.s.deposits.add(lot.Basis)
	}
	if a.acct.CostMethod == FIFO {
		// Copy before sorting: the undo snapshot may share the old array.
		p.s.lots, p.s.head = slices.Clone(p.s.lots[p.s.head:]), 0
		slices.SortStableFunc(p.s.lots, func(x, y lotRec) int { return x.acquired.Compare(y.acquired) })
	}
	return nil
}

// takePending pops tx.Quantity units of the lots of tx.Symbol moved out on
// tx's day, converted to a's currency, and sets tx.Currency to the
// instrument's. Fewer units than that in transit is ErrUnmatchedTransfer.
func (l *Ledger) takePending(a *acctState, tx *Transaction) ([]Lot, error) {
	pend := pendingOn(l.pending[tx.Symbol], localDay(tx.Time))
	avail := decimal.Zero
	for _, pl := range pend {
		if pl.currency != pend[0].currency {
			return nil, fmt.Errorf("%w: %s moved out today in %s and %s", ErrCurrencyMismatch, tx.Symbol, pend[0].currency, pl.currency)
		}
		avail = addDec(avail, pl.lot.Quantity)
	}
	if avail.Cmp(tx.Quantity) < 0 {
		return nil, fmt.Errorf("%w: transfer_in of %s %s at price 0, %s moved out that day (book the transfer_out first, or give the cost per unit as Price)",
			ErrUnmatchedTransfer, tx.Quantity, tx.Symbol, avail)
	}
	ccy := pend[0].currency
	if tx.Currency != a.acct.Currency && tx.Currency != ccy {
		return nil, fmt.Errorf("%w: %s is in %s, transaction is in %s", ErrCurrencyMismatch, tx.Symbol, ccy, tx.Currency)
	}
	l.touchPending(tx.Symbol)
	var lots []Lot
	rest := pend
	need := tx.Quantity
	for need.Sign() > 0 {
		pl := rest[0]
		lot := pl.lot
		if pl.lot.Quantity.Cmp(need) <= 0 {
			need = subDec(need, pl.lot.Quantity)
			rest = rest[1:]
		} else {
			lot.Quantity = need
			lot.Basis = mulDiv(pl.lot.Basis, need, pl.lot.Quantity)
			lot.LocalBasis = mulDiv(pl.lot.LocalBasis, need, pl.lot.Quantity)
			rest[0].lot.Quantity = subDec(pl.lot.Quantity, need)
			rest[0].lot.Basis = subDec(pl.lot.Basis, lot.Basis)
			rest[0].lot.LocalBasis = subDec(pl.lot.LocalBasis, lot.LocalBasis)
			need = decimal.Zero
		}
		// Each lot's basis is in the currency of the account it left:
		// rebased when that is not a's.
		if pl.acctCcy != a.acct.Currency {
			b, err := rebase(a, tx, lot.LocalBasis, ccy)
			if err != nil {
				return nil, err
			}
			lot.Basis = b
		}
		lots = append(lots, lot)
	}
	if len(rest) == 0 {
		delete(l.pending, tx.Symbol)
	} else {
		l.pending[tx.Symbol] = rest
	}
	tx.Currency = ccy
	return lots, nil
}

// rebase is the basis in a's currency of lots moved from an account in
// another currency: the local basis when the instrument (ccy) trades in
// a's currency, else the local basis at tx's FX rate (ccy → a's currency).
func rebase(a *acctState, tx *Transaction, local decimal.Decimal, ccy string) (decimal.Decimal, error) {
	if ccy == a.acct.Currency {
		return local, nil
	}
	if tx.Currency != ccy || tx.FXRate.Sign() == 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: moving %s (%s) into a %s account from another currency needs Currency %s and an FX rate",
			ErrCurrencyMismatch, tx.Symbol, ccy, a.acct.Currency, ccy)
	}
	return toAcct(a, local, tx.FXRate), nil
}
