package main

import (
	"context"
	"html/template"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
)

// revisions tells when an owner's books changed: Revision returns a number
// that is different after every write to them.
type revisions interface {
	Revision(ctx context.Context, owner string) (uint64, error)
}

// storeRevisions answers revisions from the store (portfolio.Store's
// Revision): every write bumps the owner's revision inside its own
// transaction, so writes of the CLI and of other instances on the database
// are seen by the next request, for one primary-key read per request
// (BenchmarkBooksCacheHit). A check per request rather than LISTEN/NOTIFY
// wake-ups: it works the same on SQLite (which has none) and cannot miss a
// wake-up lost with a dropped connection; the wake-ups could later spare
// the read, never replace it.
type storeRevisions struct{ shelf portfolio.Shelf }

// Revision implements revisions.
func (r storeRevisions) Revision(ctx context.Context, owner string) (uint64, error) {
	return r.shelf.Book(owner).Revision(ctx)
}

// maxCachedOwners bounds how many owners' books the cache keeps; the least
// recently used go first.
const maxCachedOwners = 1000

// maxCachedWeight bounds the cache's memory as well: an owner weighs
// (transactions + 50) × (1 + series kept, one per base), about 5 KB a
// unit (BenchmarkCachedOwnerMemory: 1,000 transactions in one base keep
// 9.5 MB, in all four 24 MB), so 32,000 units are about 150 MB. A count
// alone let a thousand such owners keep 10-24 GB. What the owner's
// rendered portfolio keeps (pages, JSON and their compressed copies)
// weighs a unit per bytesPerWeight.
const maxCachedWeight = 32_000

// bytesPerWeight is the bytes of rendered output a weight unit stands for.
const bytesPerWeight = 5_000

// bookCache keeps each owner's ledger and performance series between
// requests. A request checks the owner's revision (one cheap call) and
// uses what is cached when it has not changed; the first request after a
// write reloads the ledger from the store and hands it to the series,
// which recomputes only the days from the first transaction that differs.
// Series are rebuilt once a day (the history behind them has a new bar),
// and are valued again when their prices are older than todayTTL.
type bookCache struct {
	revs      revisions
	history   marketdata.HistoryProvider
	max       int   // owners kept
	maxWeight int64 // their summed weight (ownerBooks.weight)
	now       func() time.Time

	mu     sync.Mutex
	owners map[string]*ownerBooks

	loads atomic.Int64 // ledgers loaded from the store

	background sync.WaitGroup // revaluations in the background (rendered.go)
	// stopped ends when the cache is closed, and the background
	// revaluations with it.
	stopped context.Context
	stop    context.CancelFunc
}

func newBookCache(revs revisions, history marketdata.HistoryProvider) *bookCache {
	stopped, stop := context.WithCancel(context.Background())
	return &bookCache{revs: revs, history: history, max: maxCachedOwners, maxWeight: maxCachedWeight, now: time.Now, owners: map[string]*ownerBooks{},
		stopped: stopped, stop: stop}
}

// ownerBooks is one owner's cached books; mu lets one request at a time
// load them, and the others wait for that result.
type ownerBooks struct {
	mu     sync.Mutex
	loaded bool
	rev    uint64
	ledger *portfolio.Ledger
	view   booksView               // of ledger
	first  time.Time               // of the ledger's first transaction; zero without any
	series map[string]*ownerSeries // by base currency
	render renderSlot              // the portfolio as pages show it (rendered.go)
	used   time.Time               // guarded by bookCache.mu
	weight atomic.Int64            // what it keeps, in maxCachedWeight's units

	// The revision reads of the owner's books (revisionLocked): reads
	// counts those started, and lastRev is the answer of read number
	// lastRead (both guarded by mu).
	reads    atomic.Uint64
	lastRead uint64
	lastRev  uint64
}

// lock takes ob.mu for a request and returns what revisionLocked needs
// to know of its arrival: the revision reads started before it.
func (ob *ownerBooks) lock() (arrived uint64) {
	arrived = ob.reads.Load()
	ob.mu.Lock()
	return arrived
}

// weigh records what ob keeps (see maxCachedWeight). The caller holds
// ob.mu.
func (ob *ownerBooks) weigh() {
	n := 0
	if ob.ledger != nil {
		n = len(ob.ledger.Transactions())
	}
	ob.weight.Store(int64(n+50) * int64(1+len(ob.series)))
}

type ownerSeries struct {
	day    time.Time // the UTC day it was built
	from   time.Time // its history starts here
	at     time.Time // when its prices were fetched
	hist   *marketdata.HistoryPrices
	series *portfolio.Series
	charts chartMemo // drawn from series

	revaluing bool // a background goroutine values a fresh series (guarded by ownerBooks.mu)
}

// todayTTL is how long a series keeps the prices it has: today's bar is
// still trading, so after this the series is valued again with fresh
// ones (a full valuation once a minute per owner in use, instead of one
// per request), by a background goroutine while requests go on with the
// one they have (revalueSeries).
const todayTTL = time.Minute

func (c *bookCache) entry(owner string) *ownerBooks {
	c.mu.Lock()
	defer c.mu.Unlock()
	ob, ok := c.owners[owner]
	if !ok {
		for len(c.owners) > 0 && (len(c.owners) >= c.max || c.weightLocked() > c.maxWeight) {
			c.evictLocked()
		}
		ob = &ownerBooks{series: map[string]*ownerSeries{}}
		c.owners[owner] = ob
	}
	ob.used = c.now()
	return ob
}

// weightLocked is the summed weight of the cached owners.
func (c *bookCache) weightLocked() int64 {
	var w int64
	for _, ob := range c.owners {
		w += ob.weight.Load() + ob.render.weight()
	}
	return w
}

// evictLocked drops the least recently used owner.
func (c *bookCache) evictLocked() {
	var oldest string
	var at time.Time
	for k, ob := range c.owners {
		if oldest == "" || ob.used.Before(at) {
			oldest, at = k, ob.used
		}
	}
	delete(c.owners, oldest)
}

// ledger returns owner's books replayed as far as they apply (see
// portfolio.Books.Replay) and the transactions that do not: the cached
// ones while the revision is the same, else read from store. The ledger
// is shared: read it, never apply to it.
func (c *bookCache) ledger(ctx context.Context, owner string, store portfolio.Store) (booksView, error) {
	ob := c.entry(owner)
	arrived := ob.lock()
	defer ob.mu.Unlock()
	if _, err := c.ledgerLocked(ctx, ob, owner, store, arrived); err != nil {
		return booksView{}, err
	}
	return ob.view, nil
}

// Bounds of the lists a page shows, computed once per load.
const (
	recentShown   = 12 // latest transactions
	realizedShown = 25 // latest realized gains
)

// booksView is an owner's books as the portfolio page reads them. All of
// it is shared: read it, never change it.
type booksView struct {
	Ledger   *portfolio.Ledger
	Problems []portfolio.Problem      // stored transactions that do not apply
	Recent   []portfolio.Transaction  // the latest recentShown, newest first
	Realized []portfolio.RealizedGain // the latest realizedShown, in closing order
	Gains    int                      // realized gains in all (Realized holds the latest)
	Txs      int                      // transactions in all (Recent holds the latest)
}

func newBooksView(l *portfolio.Ledger, problems []portfolio.Problem) booksView {
	txs := l.Transactions()
	// Newest first, ties in booking order: a stable sort of indices (a
	// Transaction is large; sorting them moved 1,000 of them around on the
	// first request after every write).
	order := make([]int, len(txs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return txs[j].Time.Compare(txs[i].Time) })
	recent := make([]portfolio.Transaction, 0, min(len(txs), recentShown))
	for _, i := range order[:cap(recent)] {
		recent = append(recent, txs[i])
	}
	realized := l.Realized("")
	return booksView{Ledger: l, Problems: problems, Recent: recent,
		Realized: slices.Clip(realized[max(0, len(realized)-realizedShown):]), Gains: len(realized), Txs: len(txs)}
}

// ledgerLocked returns ob's ledger at the books' current revision, loaded
// again when it changed. arrived is what ob.lock returned. The caller
// holds ob.mu.
func (c *bookCache) ledgerLocked(ctx context.Context, ob *ownerBooks, owner string, store portfolio.Store, arrived uint64) (*portfolio.Ledger, error) {
	// The revision is read before the books: a write in between leaves the
	// entry at the older revision, so the next request loads again.
	rev, err := c.revisionLocked(ctx, ob, owner, arrived)
	if err != nil {
		return nil, err
	}
	if ob.loaded && ob.rev == rev {
		return ob.ledger, nil
	}
	b, err := portfolio.ReadBooks(ctx, store)
	if err != nil {
		return nil, err
	}
	l, problems, err := b.Replay()
	if err != nil {
		return nil, err
	}
	c.loads.Add(1)
	ob.view = newBooksView(l, problems)
	ob.ledger, ob.rev, ob.loaded = l, rev, true
	ob.first = time.Time{}
	if txs := l.Transactions(); len(txs) > 0 {
		ob.first = txs[0].Time
	}
	for _, s := range ob.series {
		s.series.SetLedger(l)
	}
	ob.weigh()
	return l, nil
}

// revisionLocked returns the revision of ob's books as a read that
// started after the request arrived saw it (arrived: the reads started
// before, from ob.lock): the answer of the last read if it is such a read,
// made while the request waited for ob.mu, else that of a new one. Such a
// read sees every write committed before the request came, the client's
// own included, as a read of its own would; while one owner's requests
// queue for ob.mu (many tabs, a dashboard polling), one read answers all
// those that arrived before it started, instead of one read each.
// The caller holds ob.mu.
func (c *bookCache) revisionLocked(ctx context.Context, ob *ownerBooks, owner string, arrived uint64) (uint64, error) {
	if ob.lastRead > arrived {
		return ob.lastRev, nil
	}
	n := ob.reads.Add(1)
	rev, err := c.revs.Revision(ctx, owner)
	if err != nil {
		return 0, err
	}
	ob.lastRead, ob.lastRev = n, rev
	return rev, nil
}

// performance returns the performance since inception in base of owner's
// books, from the cached series (computing only what changed).
func (c *bookCache) performance(ctx context.Context, owner string, store portfolio.Store, base string) (*portfolio.Performance, error) {
	ob := c.entry(owner)
	arrived := ob.lock()
	l, err := c.ledgerLocked(ctx, ob, owner, store, arrived)
	if err != nil {
		ob.mu.Unlock()
		return nil, err
	}
	s, err := c.seriesLocked(ob, l, ob.first, base)
	ob.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// The series serializes its own reads: no need to hold ob.mu while
	// it catches up.
	return s.Performance(ctx, portfolio.Period{To: c.now().UTC()})
}

// seriesLocked returns the owner's series in base, built anew on a new day
// or when the books now start before its history does. A series whose
// prices are older than todayTTL is still returned, while one background
// goroutine values a fresh one (revalueSeries).
func (c *bookCache) seriesLocked(ob *ownerBooks, l *portfolio.Ledger, first time.Time, base string) (*portfolio.Series, error) {
	if first.IsZero() {
		return nil, portfolio.ErrNotEnoughData
	}
	now := c.now()
	today := now.UTC().Truncate(24 * time.Hour)
	if s, ok := ob.series[base]; ok && s.day.Equal(today) && !first.Before(s.from) {
		if now.Sub(s.at) >= todayTTL && !s.revaluing {
			s.revaluing = true
			c.background.Add(1)
			go c.revalueSeries(ob, base, s, l, now)
		}
		return s.series, nil
	}
	hist := marketdata.NewHistoryPrices(c.history, first)
	s, err := portfolio.NewSeries(l, portfolio.SeriesOptions{Base: base, History: hist})
	if err != nil {
		return nil, err
	}
	ob.series[base] = &ownerSeries{day: today, from: first, at: now, hist: hist, series: s}
	ob.weigh()
	return s, nil
}

// revalueSeries values old's books again over fresh prices, in a series
// of its own, and puts it in old's place unless old was replaced
// meanwhile; a ledger reloaded meanwhile is handed to it first (which
// recomputes from the change only). The simulator anchors its whole
// history to the live price, so fresh prices move every past bar: every
// day is valued again. (With a provider whose past bars are final, only
// yesterday and today would need it.) It runs off the request path: a
// full valuation of three years took 20-25 ms of the first request after
// a write once a minute.
func (c *bookCache) revalueSeries(ob *ownerBooks, base string, old *ownerSeries, l *portfolio.Ledger, now time.Time) {
	defer c.background.Done()
	ctx, cancel := context.WithTimeout(c.stopped, refreshTimeout)
	defer cancel()
	hist := marketdata.NewHistoryPrices(c.history, old.from)
	s, err := portfolio.NewSeries(l, portfolio.SeriesOptions{Base: base, History: hist})
	if err == nil {
		_, err = s.Performance(ctx, portfolio.Period{To: now.UTC()})
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	old.revaluing = false
	if ob.series[base] != old {
		return
	}
	if err != nil {
		old.at = now // tried: again after todayTTL
		return
	}
	if ob.ledger != l {
		s.SetLedger(ob.ledger)
	}
	ob.series[base] = &ownerSeries{day: old.day, from: old.from, at: now, hist: hist, series: s}
}

// charts returns the chart memo of owner's series in base, or nil when
// there is none (no transactions yet, or not built).
func (c *bookCache) charts(owner, base string) *chartMemo {
	c.mu.Lock()
	ob, ok := c.owners[owner]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if s, ok := ob.series[base]; ok {
		return &s.charts
	}
	return nil
}

// chartMemo keeps the value chart last drawn for each period from one
// owner's series (so in one base). A chart is a function of the points it
// is drawn from, its base and its period, so the chart of the same points
// is reused: nothing to invalidate (a write, a back-dated transaction or
// fresh prices change the points), and a request compares about a
// thousand points instead of drawing them twice at two sizes. The zero
// value is ready to use; it is safe for concurrent use.
type chartMemo struct {
	mu     sync.Mutex
	charts map[string]drawnChart // by period
	drawn  atomic.Int64          // charts drawn (for tests)
}

type drawnChart struct {
	points []portfolio.ValuePoint // of the performance it was drawn from
	html   template.HTML
}

// valueChart returns valueChart(perf, period), drawn again only when
// perf's points differ from the last ones drawn for period. perf must be
// in the memo's base and must not change afterwards.
func (m *chartMemo) valueChart(perf *portfolio.Performance, period string) template.HTML {
	m.mu.Lock()
	d, ok := m.charts[period]
	m.mu.Unlock()
	if ok && samePoints(d.points, perf.Points) {
		return d.html
	}
	html := valueChart(perf, period)
	m.drawn.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.charts == nil {
		m.charts = map[string]drawnChart{}
	}
	m.charts[period] = drawnChart{points: perf.Points, html: html}
	return html
}

// samePoints reports whether a and b are the same points to the bit (a
// chart drawn from one is the chart of the other).
func samePoints(a, b []portfolio.ValuePoint) bool {
	return slices.EqualFunc(a, b, func(x, y portfolio.ValuePoint) bool {
		return x.Time.Equal(y.Time) && x.Time.Location() == y.Time.Location() &&
			math.Float64bits(x.Value) == math.Float64bits(y.Value) && math.Float64bits(x.Flow) == math.Float64bits(y.Flow)
	})
}
