package portfolio

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/portfolio/internal/exact"
	"github.com/finkit/finkit/portfolio/internal/idindex"
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
	ids     idindex.Index // id → index in txs
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
	// applied) and changes lists the latest with the first journal index
	// each touched, so a Series can tell what changed without comparing.
	gen     uint64
	changes []change
}

// change is one write to the books: its generation and the first index
// of the journal it changed (the journal's length: none).
type change struct {
	gen  uint64
	from int
}

// keptChanges is how many changes a Ledger remembers.
const keptChanges = 64

// recordChange counts a change that left the journal before from as it
// was.
func (l *Ledger) recordChange(from int) {
	l.gen++
	if len(l.changes) == keptChanges {
		l.changes = slices.Delete(l.changes, 0, 1)
	}
	l.changes = append(l.changes, change{gen: l.gen, from: from})
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
	// The totals are exact sums (see exact.Num): booking into them
	// allocates nothing while they fit 128 bits.
	cash        exact.Num
	dividends   exact.Num
	interest    exact.Num
	fees        exact.Num
	taxes       exact.Num
	deposits    exact.Num
	withdrawals exact.Num
	realizedN   int       // entries of acctState.realized that count
	gain        exact.Num // sum of realized Gain
	fxEffect    exact.Num // sum of realized Gain − LocalGain × FXRate
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
	qty        exact.Num
	basis      exact.Num // account currency
	localBasis exact.Num // instrument currency
	lots       []lotRec
	head       int
	lastPrice  decimal.Decimal
	lastTime   time.Time
}

// lotRec is an open lot as the ledger keeps it: its numbers as exact.Num
// (pointer-free while they fit 128 bits), a Lot when read.
type lotRec struct {
	acquired               time.Time
	qty, basis, localBasis exact.Num
	txID                   string
}

// pub returns the lot as the public Lot (the same values and exponents).
func (r *lotRec) pub() Lot {
	return Lot{Acquired: r.acquired, Quantity: r.qty.Dec(), Basis: r.basis.Dec(), LocalBasis: r.localBasis.Dec(), TxID: r.txID}
}

// lotRecOf returns lot as a lotRec.
func lotRecOf(lot Lot) lotRec {
	return lotRec{acquired: lot.Acquired, qty: exact.Of(lot.Quantity), basis: exact.Of(lot.Basis), localBasis: exact.Of(lot.LocalBasis), txID: lot.TxID}
}

// realRec is a RealizedGain as the ledger keeps it: amounts as exact.Num,
// the account filled in when read.
type realRec struct {
	symbol           string
	acquired, closed time.Time
	qty, proceeds    exact.Num
	basis, gain      exact.Num
	localGain        exact.Num
	fx               decimal.Decimal
	txID             string
}

// pub returns the record as the public RealizedGain of account.
func (r *realRec) pub(account string) RealizedGain {
	g := RealizedGain{
		Account: account, Symbol: r.symbol, Acquired: r.acquired, Closed: r.closed,
		Quantity: r.qty.Dec(), Proceeds: r.proceeds.Dec(), Basis: r.basis.Dec(), Gain: r.gain.Dec(),
		FXRate: r.fx, TxID: r.txID,
	}
	if r.localGain.Same(r.gain) {
		g.LocalGain = g.Gain
	} else {
		g.LocalGain = r.localGain.Dec()
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
	l.ids = idindex.New(0)
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
	a, err := NormalizeAccount(a)
	if err != nil {
		return err
	}
	if _, ok := l.accts[a.ID]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateAccount, a.ID)
	}
	st := &acctState{acct: a, minor: MinorUnits(a.Currency), positions: make(map[string]*position)}
	l.accts[a.ID] = st
	l.order = append(l.order, st)
	l.recordChange(l.txs.len())
	return nil
}

// NormalizeAccount returns a with its defaults filled (kind brokerage,
// cost method FIFO), or fails with ErrInvalidAccount when a lacks an id,
// has no valid currency code, or names an unknown kind or cost method.
// Ledgers and stores keep accounts in this form.
func NormalizeAccount(a Account) (Account, error) {
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
	from := l.txs.len()
	if batch[0].Time.Before(l.last) {
		// The replay keeps the journal up to the first transaction
		// later than the batch's first.
		from = sort.Search(l.txs.len(), func(i int) bool { return l.txs.at(i).Time.After(batch[0].Time) })
		err = l.replay(batch)
	} else {
		err = l.applyBatch(batch)
	}
	if err == nil {
		l.recordChange(from)
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
		ids:      idindex.New(len(merged)),
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
	l.ids.Reserve(l.ids.Len() + len(batch))
	txLen, last, nextAuto := l.txs.len(), l.last, l.nextAuto
	for i := range batch {
		tx := batch[i]
		if err := l.applyOne(&tx); err != nil {
			l.rollback()
			for i := txLen; i < l.txs.len(); i++ {
				l.ids.Delete(l.txs.at(i).ID, l.txID)
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

// txID is the id of the transaction at pos in the journal.
func (l *Ledger) txID(pos int) string { return l.txs.at(pos).ID }

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
	idHash := l.ids.Hash(tx.ID)
	if l.ids.Has(tx.ID, idHash, l.txID) {
		return fmt.Errorf("%w: %q", ErrDuplicateID, tx.ID)
	}
	if tx.Currency == "" {
		tx.Currency = a.acct.Currency
	}
	fx, err := checkAmounts(a, tx)
	if err != nil {
		return err
	}
	if err := l.book(a, tx, fx); err != nil {
		return err
	}
	l.ids.InsertAbsent(idHash, l.txs.len())
	l.txs.append(tx)
	l.last = tx.Time
	return nil
}

// checkAmounts checks tx's currency, rate, fee, tax and the range of its
// numbers, and returns the rate of its cash to the account currency (see
// txFX; zero for a securities transfer, whose rate depends on the lots it
// moves and is checked by transferIn).
func checkAmounts(a *acctState, tx *Transaction) (decimal.Decimal, error) {
	var fx decimal.Decimal
	var err error
	if securitiesTransfer(tx) {
		if tx.FXRate.Sign() < 0 {
			return fx, fmt.Errorf("%w: negative FX rate", ErrInvalidAmount)
		}
		if !validCurrency(tx.Currency) {
			return fx, fmt.Errorf("%w: %q is not a currency code", ErrCurrencyMismatch, tx.Currency)
		}
	} else if fx, err = txFX(a, tx); err != nil {
		return fx, err
	}
	if tx.Fee.Sign() < 0 || tx.Tax.Sign() < 0 {
		return fx, fmt.Errorf("%w: fee and tax must not be negative", ErrInvalidAmount)
	}
	for _, x := range [...]*decimal.Decimal{&tx.Quantity, &tx.Price, &tx.Fee, &tx.Tax, &tx.Amount, &tx.FXRate} {
		if e := x.Exponent(); e > maxExponent || e < -maxExponent {
			return fx, fmt.Errorf("%w: a number has exponent %d, outside ±%d", ErrInvalidAmount, e, maxExponent)
		}
	}
	return fx, nil
}

// book books a checked transaction by its kind.
func (l *Ledger) book(a *acctState, tx *Transaction, fx decimal.Decimal) error {
	switch tx.Kind {
	case TxBuy, TxSell:
		return l.trade(a, tx, fx)
	case TxDeposit, TxWithdrawal, TxInterest, TxFee, TxTax:
		return l.cashOnly(a, tx, fx)
	case TxDividend:
		return l.dividend(a, tx, fx)
	case TxTransferIn, TxTransferOut:
		switch {
		case tx.Symbol == "":
			return l.cashOnly(a, tx, fx)
		case tx.Kind == TxTransferOut:
			return l.transferOut(a, tx)
		}
		return l.transferIn(a, tx)
	case TxSplit:
		return l.split(a, tx)
	}
	return fmt.Errorf("%w: unknown kind %q", ErrInvalidTransaction, tx.Kind)
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
		amount = exact.Mul(amount, fx)
	}
	return roundTo(amount, a.minor)
}

// moveCash adds amount to a's cash, or takes it out when out is set; taking
// out more than there is fails without margin. A negative amount moves the
// other way (a sell whose fees exceed the proceeds).
func (l *Ledger) moveCash(a *acctState, amount exact.Num, out bool) error {
	if amount.Sign() == 0 {
		return nil
	}
	var next exact.Num
	if out {
		next = a.s.cash.Sub(amount)
	} else {
		next = a.s.cash.Add(amount)
	}
	// next < cash exactly when the move is an outflow: a positive amount
	// taken out or a negative amount put in.
	if next.Sign() < 0 && (amount.Sign() > 0) == out && !a.acct.AllowMargin {
		need := amount.Dec()
		if !out {
			need = need.Neg()
		}
		return fmt.Errorf("%w: cash %s, needs %s", ErrInsufficientFunds,
			FormatMoney(a.s.cash.Dec(), a.acct.Currency), FormatMoney(need, a.acct.Currency))
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
	amt := exact.Of(toAcct(a, tx.Amount, fx))
	// Fee and tax are rounded apart, as on a dividend: the tax (withholding
	// tax on interest) is booked as a tax, the fee as a fee.
	fee, tax := charge(a, tx.Fee, fx), charge(a, tx.Tax, fx)
	inflow := tx.Kind == TxDeposit || tx.Kind == TxTransferIn || tx.Kind == TxInterest
	cash := amt
	switch {
	case fee.Sign() == 0 && tax.Sign() == 0:
	case inflow:
		cash = amt.Sub(fee.Add(tax)) // below zero: charges beyond the amount are taken out
	default:
		cash = amt.Add(fee.Add(tax))
	}
	if err := l.moveCash(a, cash, !inflow); err != nil {
		return err
	}
	l.touchAcct(a)
	switch tx.Kind {
	case TxDeposit, TxTransferIn:
		a.s.deposits = a.s.deposits.Add(amt)
	case TxWithdrawal, TxTransferOut:
		a.s.withdrawals = a.s.withdrawals.Add(amt)
	case TxInterest:
		a.s.interest = a.s.interest.Add(amt)
	case TxFee:
		a.s.fees = a.s.fees.Add(amt)
	case TxTax:
		a.s.taxes = a.s.taxes.Add(amt)
	}
	a.s.addCharges(fee, tax)
	return nil
}

// charge is a fee or tax of a transaction in the account currency,
// converted and rounded as its cash is.
func charge(a *acctState, x, fx decimal.Decimal) exact.Num {
	if x.Sign() == 0 {
		return exact.Num{}
	}
	return exact.Of(toAcct(a, x, fx))
}

// addCharges adds the fee and tax of a transaction to the account's fees
// and taxes.
func (s *acctScalars) addCharges(fee, tax exact.Num) {
	if fee.Sign() != 0 {
		s.fees = s.fees.Add(fee)
	}
	if tax.Sign() != 0 {
		s.taxes = s.taxes.Add(tax)
	}
}

// dividend books a dividend: gross Amount (or Quantity × Price) less Fee and
// withholding Tax.
func (l *Ledger) dividend(a *acctState, tx *Transaction, fx decimal.Decimal) error {
	if tx.Symbol == "" {
		return fmt.Errorf("%w: dividend without symbol", ErrInvalidTransaction)
	}
	gross := tx.Amount
	if gross.Sign() == 0 && tx.Quantity.Sign() > 0 && tx.Price.Sign() > 0 {
		gross = exact.Mul(tx.Quantity, tx.Price)
	}
	if gross.Sign() <= 0 {
		return fmt.Errorf("%w: dividend amount must be positive", ErrInvalidAmount)
	}
	g := exact.Of(toAcct(a, gross, fx))
	fee, tax := charge(a, tx.Fee, fx), charge(a, tx.Tax, fx)
	net := g
	if fee.Sign() != 0 || tax.Sign() != 0 {
		net = g.Sub(fee.Add(tax))
	}
	if err := l.moveCash(a, net, false); err != nil {
		return err
	}
	l.touchAcct(a)
	a.s.dividends = a.s.dividends.Add(g)
	a.s.addCharges(fee, tax)
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
	local, amount := tradeAmounts(a, tx, fx, buy)
	p := a.positions[tx.Symbol]
	if p != nil && p.s.currency != tx.Currency && p.s.qty.Sign() != 0 {
		return fmt.Errorf("%w: %s is held in %s, transaction is in %s", ErrCurrencyMismatch, tx.Symbol, p.s.currency, tx.Currency)
	}
	var held exact.Num
	if p != nil {
		held = p.s.qty
	}
	q := exact.Of(tx.Quantity)
	switch {
	case buy && held.Sign() >= 0: // opens or extends a long
		if err := l.moveCash(a, amount, true); err != nil {
			return err
		}
		p = l.tradedPos(a, p, tx)
		l.open(a, p, lotRec{acquired: tx.Time, qty: q, basis: amount, localBasis: local, txID: tx.ID})
		return nil
	case !buy && held.Sign() > 0 && held.Cmp(q) >= 0: // within a long
		if err := l.moveCash(a, amount, false); err != nil {
			return err
		}
		p = l.tradedPos(a, p, tx)
		l.close(a, p, tx, q, amount, local, fx, true)
		return nil
	}
	return l.tradeWithShorts(a, p, tx, fx, held, local, amount)
}

// tradeAmounts is what the trade costs (buy) or brings in (sell), fees and
// taxes included, in the instrument currency (rounded to its minor units)
// and in the account currency (converted at fx and rounded to the
// account's); without fx both are the account currency's amount.
func tradeAmounts(a *acctState, tx *Transaction, fx decimal.Decimal, buy bool) (local, amount exact.Num) {
	local = tradeAmount(tx.Quantity, tx.Price, tx.Fee, tx.Tax, buy)
	if fx.Sign() == 0 {
		amount = roundNum(local, a.minor)
		return amount, amount // the same money: rounded alike
	}
	return roundNum(local, MinorUnits(tx.Currency)), exact.Of(toAcct(a, local.Dec(), fx))
}

// tradeAmount is quantity × price plus (buy) or minus (sell) fee and tax,
// as the decimal expression q.Mul(p).Add(fee.Add(tax)) computes it (the
// charges only when not zero), value and exponent.
func tradeAmount(q, p, fee, tax decimal.Decimal, buy bool) exact.Num {
	local := exact.Of(q).Mul(exact.Of(p))
	if fee.Sign() == 0 && tax.Sign() == 0 {
		return local
	}
	charges := exact.Of(fee)
	if tax.Sign() != 0 {
		charges = charges.Add(exact.Of(tax))
	}
	if buy {
		return local.Add(charges)
	}
	return local.Sub(charges)
}

// roundNum is roundTo for a Num: n itself when it has at most places
// decimals.
func roundNum(n exact.Num, places int32) exact.Num {
	if n.Exponent() >= -places {
		return n
	}
	return exact.Of(n.Dec().RoundBank(places))
}

// tradeWithShorts books a trade that covers a short, opens one or goes
// through zero (a sell beyond a long, a buy beyond a short), held being
// the position's quantity before.
func (l *Ledger) tradeWithShorts(a *acctState, p *position, tx *Transaction, fx decimal.Decimal, heldN, localN, amountN exact.Num) error {
	buy := tx.Kind == TxBuy
	// In decimals (this path is rare): signed flows (in positive, out
	// negative) and signed quantities.
	held, local, amount := heldN.Dec(), localN.Dec(), amountN.Dec()
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
			closeQ, openQ = held.Neg(), exact.Add(dq, held)
		}
	}
	if !buy && openQ.Sign() != 0 && !a.acct.AllowShort {
		return fmt.Errorf("%w: selling %s %s, holding %s", ErrInsufficientHoldings, tx.Quantity, tx.Symbol, held)
	}
	if err := l.moveCash(a, amountN, buy); err != nil {
		return err
	}
	p = l.tradedPos(a, p, tx)

	closeFlow, closeLocal := flow, local
	openFlow, openLocal := decimal.Zero, decimal.Zero
	if closeQ.Sign() == 0 {
		closeFlow, closeLocal = decimal.Zero, decimal.Zero
		openFlow, openLocal = flow, local
	} else if openQ.Sign() != 0 {
		closeFlow = exact.MulDiv(flow, closeQ, dq)
		closeLocal = exact.MulDiv(local, closeQ, dq)
		openFlow, openLocal = exact.Sub(flow, closeFlow), exact.Sub(local, closeLocal)
	}
	if closeQ.Sign() != 0 {
		l.close(a, p, tx, exact.Of(closeQ.Neg()), exact.Of(closeFlow), exact.Of(closeLocal), fx, true)
	}
	if openQ.Sign() != 0 {
		l.open(a, p, lotRec{acquired: tx.Time, qty: exact.Of(openQ), basis: exact.Of(openFlow.Neg()), localBasis: exact.Of(openLocal.Neg()), txID: tx.ID})
	}
	return nil
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
	p.s.qty = p.s.qty.Add(lot.qty)
	basis := p.s.basis.Add(lot.basis)
	if p.s.localBasis.Equal(p.s.basis) && lot.localBasis.Equal(lot.basis) {
		p.s.localBasis = basis // same amounts: share the sum
	} else {
		p.s.localBasis = p.s.localBasis.Add(lot.localBasis)
	}
	p.s.basis = basis
	if a.acct.CostMethod == FIFO {
		p.s.lots = append(p.s.lots, lot)
	}
}

// close removes q units (same sign as the position, |q| ≤ |held|) from p
// and returns the lots removed. With realize set, flow and local are the
// account- and instrument-currency cash attributed to those units and each
// lot closed books a RealizedGain at fx (zero: the account currency).
func (l *Ledger) close(a *acctState, p *position, tx *Transaction, q, flow, local exact.Num, fx decimal.Decimal, realize bool) []Lot {
	c := closing{l: l, a: a, p: p, closed: tx.Time, txID: tx.ID, fx: fx, realize: realize}
	if a.acct.CostMethod == AverageCost {
		c.closeAverage(q, flow, local)
	} else {
		c.closeFIFO(q, flow, local)
	}
	return c.removed
}

// closing is one close of units of a position.
type closing struct {
	l       *Ledger
	a       *acctState
	p       *position
	closed  time.Time // of the closing transaction
	txID    string
	fx      decimal.Decimal
	realize bool
	removed []Lot // the parts closed, without realize
}

// closeAverage closes q units of an average-cost holding: the basis goes
// pro rata.
func (c *closing) closeAverage(q, flow, local exact.Num) {
	s := &c.p.s
	part := lotRec{qty: q, basis: s.basis, localBasis: s.localBasis}
	if s.qty.Cmp(q) == 0 {
		s.qty, s.basis, s.localBasis = exact.Num{}, exact.Num{}, exact.Num{}
	} else {
		part.basis, part.localBasis = proRata(s.basis, s.localBasis, q, s.qty)
		s.take(&part)
	}
	c.book(&part, flow, local)
}

// closeFIFO closes q units lot by lot, oldest first; each lot's share of
// the cash is pro rata to its units, the last one getting what is left.
func (c *closing) closeFIFO(q, flow, local exact.Num) {
	s := &c.p.s
	remaining := q
	flowLeft, localLeft := flow, local
	// In the account currency the instrument-currency amounts are the
	// same numbers (same value and exponent): compute each share once.
	shared := local.Same(flow)
	for remaining.Sign() != 0 {
		var part lotRec
		part, remaining = c.takeLot(remaining)
		partFlow, partLocal := flowLeft, localLeft
		if remaining.Sign() != 0 {
			if c.realize {
				partFlow = flow.MulDiv(part.qty, q)
				partLocal = partFlow
				if !shared {
					partLocal = local.MulDiv(part.qty, q)
				}
			}
			flowLeft = flowLeft.Sub(partFlow)
			if shared {
				localLeft = flowLeft
			} else {
				localLeft = localLeft.Sub(partLocal)
			}
		}
		if s.head == len(s.lots) {
			s.qty, s.basis, s.localBasis = exact.Num{}, exact.Num{}, exact.Num{}
		} else {
			s.take(&part)
		}
		c.book(&part, partFlow, partLocal)
	}
	s.compactLots()
}

// takeLot takes up to remaining units (of the same sign) from the oldest
// open lot: the whole lot, or a part split off pro rata, the lot keeping
// the rest (recorded for a rollback). It returns the part and the units
// still to take.
func (c *closing) takeLot(remaining exact.Num) (lotRec, exact.Num) {
	s := &c.p.s
	lot := &s.lots[s.head]
	sign, cmp := remaining.Sign(), lot.qty.Cmp(remaining)
	if cmp == 0 || (sign > 0 && cmp < 0) || (sign < 0 && cmp > 0) {
		s.head++
		if cmp == 0 {
			return *lot, exact.Num{}
		}
		return *lot, remaining.Sub(lot.qty)
	}
	part := lotRec{acquired: lot.acquired, qty: remaining, txID: lot.txID}
	part.basis, part.localBasis = proRata(lot.basis, lot.localBasis, remaining, lot.qty)
	u := &c.l.undo
	u.recs = append(u.recs, undoRec{kind: undoLot, idx: int32(len(u.lots))})
	u.lots = append(u.lots, lotUndo{lots: s.lots, idx: s.head, lot: *lot})
	lot.qty = lot.qty.Sub(remaining)
	basis := lot.basis.Sub(part.basis)
	lot.localBasis = subShared(lot.localBasis, part.localBasis, lot.basis, part.basis, basis)
	lot.basis = basis
	return part, exact.Num{}
}

// book books a closed part with the cash it brought (flow, local in the
// instrument currency): a RealizedGain, or without realize a removed lot.
func (c *closing) book(part *lotRec, flow, local exact.Num) {
	if !c.realize {
		c.removed = append(c.removed, part.pub())
		return
	}
	c.l.realize(c.a, c.p.symbol, c.closed, c.txID, part, flow, local, c.fx)
}

// realize books the RealizedGain of closing part of a position in symbol
// (by transaction txID at closed) for proceeds flow (local in the
// instrument currency) and adds it to the account's realized gain and, for
// a foreign instrument (fx not zero), its currency effect: Gain −
// LocalGain × fx.
func (l *Ledger) realize(a *acctState, symbol string, closed time.Time, txID string, part *lotRec, flow, local exact.Num, fx decimal.Decimal) {
	foreign := fx.Sign() != 0
	if !foreign {
		fx = one
	}
	l.touchAcct(a)
	g := realRec{
		symbol: symbol, acquired: part.acquired, closed: closed,
		qty: part.qty, proceeds: flow, basis: part.basis, gain: flow.Sub(part.basis),
		fx: fx, txID: txID,
	}
	if local.Equal(flow) && part.localBasis.Equal(part.basis) {
		g.localGain = g.gain
	} else {
		g.localGain = local.Sub(part.localBasis)
	}
	a.realized.truncate(a.s.realizedN) // drop entries of a rolled-back batch
	a.realized.append(&g)
	a.s.realizedN = a.realized.len()
	a.s.gain = a.s.gain.Add(g.gain)
	if foreign {
		a.s.fxEffect = a.s.fxEffect.Add(g.gain.Sub(g.localGain.Mul(exact.Of(fx))))
	}
}

// take removes part's units and bases from the position's totals.
func (s *posScalars) take(part *lotRec) {
	s.qty = s.qty.Sub(part.qty)
	basis := s.basis.Sub(part.basis)
	s.localBasis = subShared(s.localBasis, part.localBasis, s.basis, part.basis, basis)
	s.basis = basis
}

// compactLots drops the consumed lots: all of them when none is open
// (keeping the old array intact for a possible rollback), else by copying
// the open ones once most are consumed.
func (s *posScalars) compactLots() {
	if s.head == len(s.lots) {
		s.lots, s.head = nil, 0
	} else if s.head > 32 && s.head > len(s.lots)/2 {
		s.lots, s.head = slices.Clone(s.lots[s.head:]), 0
	}
}

// proRata returns the share q/of of basis and localBasis, computing it once
// when both are the same number (a position in the account currency).
func proRata(basis, localBasis, q, of exact.Num) (exact.Num, exact.Num) {
	b := basis.MulDiv(q, of)
	if localBasis.Equal(basis) {
		return b, b
	}
	return b, localBasis.MulDiv(q, of)
}

// subShared returns local − localPart, reusing basisNew (= basisOld −
// basisPart) when the local amounts equal the account amounts, which is the
// case for positions in the account currency: no second subtraction.
func subShared(local, localPart, basisOld, basisPart, basisNew exact.Num) exact.Num {
	if local.Equal(basisOld) && localPart.Equal(basisPart) {
		return basisNew
	}
	return local.Sub(localPart)
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
	if p == nil || p.s.qty.Sign() == 0 {
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
			q := splitQty(lot.qty.Dec(), num, den)
			if q.Sign() == 0 && lot.qty.Sign() != 0 {
				return vanishes()
			}
			lot.qty = exact.Of(q)
			qty = exact.Add(qty, q)
			lots = append(lots, lot)
		}
		l.touchPos(p)
		p.s.lots, p.s.head = lots, 0
		if den.Equal(one) {
			p.s.qty = exact.Of(p.s.qty.Dec().Mul(num)) // as ever: exact
		} else {
			p.s.qty = exact.Of(qty) // the lots' sum, also when rounded
		}
	} else {
		q := splitQty(p.s.qty.Dec(), num, den)
		if q.Sign() == 0 {
			return vanishes()
		}
		l.touchPos(p)
		p.s.qty = exact.Of(q)
	}
	if p.s.lastPrice.Sign() != 0 {
		p.s.lastPrice = splitPrice(p.s.lastPrice, num, den)
	}
	return nil
}

// splitQty is q × num / den: exact when the quotient is a finite decimal
// (without trailing zeros from the division), else rounded to 16 places.
func splitQty(q, num, den decimal.Decimal) decimal.Decimal {
	p := exact.Mul(q, num)
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
	if p == nil || p.s.qty.Cmp(exact.Of(tx.Quantity)) < 0 {
		held := decimal.Zero
		if p != nil {
			held = p.s.qty.Dec()
		}
		return fmt.Errorf("%w: transferring %s %s, holding %s", ErrInsufficientHoldings, tx.Quantity, tx.Symbol, held)
	}
	if tx.Currency != a.acct.Currency && tx.Currency != p.s.currency {
		return fmt.Errorf("%w: %s is held in %s, transaction is in %s", ErrCurrencyMismatch, tx.Symbol, p.s.currency, tx.Currency)
	}
	tx.Currency = p.s.currency
	l.touchPos(p)
	basisBefore := p.s.basis
	removed := l.close(a, p, tx, exact.Of(tx.Quantity), exact.Num{}, exact.Num{}, decimal.Zero, false)
	out := basisBefore.Sub(p.s.basis).Dec()
	l.touchAcct(a)
	a.s.withdrawals = a.s.withdrawals.Add(exact.Of(out))
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
		local := exact.Mul(tx.Quantity, tx.Price)
		basis := toAcct(a, local, fx)
		local = RoundMoney(local, tx.Currency)
		if fx.Sign() == 0 {
			local = basis
		}
		lots = []Lot{{Acquired: tx.Time, Quantity: tx.Quantity, Basis: basis, LocalBasis: local, TxID: tx.ID}}
	}
	p := a.positions[tx.Symbol]
	if p != nil && p.s.qty.Sign() != 0 && p.s.currency != tx.Currency {
		return fmt.Errorf("%w: %s is held in %s, transaction is in %s", ErrCurrencyMismatch, tx.Symbol, p.s.currency, tx.Currency)
	}
	if p != nil && p.s.qty.Sign() < 0 {
		return fmt.Errorf("%w: cannot transfer %s into a short position", ErrInvalidTransaction, tx.Symbol)
	}
	p = l.getPos(a, tx.Symbol, true)
	l.touchPos(p)
	p.s.currency = tx.Currency
	l.touchAcct(a)
	for _, lot := range lots {
		l.open(a, p, lotRecOf(lot))
		a.s.deposits = a.s.deposits.Add(exact.Of(lot.Basis))
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
		avail = exact.Add(avail, pl.lot.Quantity)
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
			need = exact.Sub(need, pl.lot.Quantity)
			rest = rest[1:]
		} else {
			lot.Quantity = need
			lot.Basis = exact.MulDiv(pl.lot.Basis, need, pl.lot.Quantity)
			lot.LocalBasis = exact.MulDiv(pl.lot.LocalBasis, need, pl.lot.Quantity)
			rest[0].lot.Quantity = exact.Sub(pl.lot.Quantity, need)
			rest[0].lot.Basis = exact.Sub(pl.lot.Basis, lot.Basis)
			rest[0].lot.LocalBasis = exact.Sub(pl.lot.LocalBasis, lot.LocalBasis)
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
