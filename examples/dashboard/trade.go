package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/papertrade"
	"github.com/finkit/finkit/portfolio"
)

// Bounds that keep one backtest request cheap.
const (
	mcPaths        = 300
	maxCash        = 1e9
	paperCurrency  = "USD"
	paperDeposit   = 100_000
	paperSlippage  = 5 // basis points
	paperAccountID = "paper"
	paperPoll      = 3 * time.Second
	// paperMaxPending caps a user's pending limit orders (kept in the
	// paper book, so a restart keeps them).
	paperMaxPending = 100
)

type backtestForm struct {
	Symbol     string
	Strategy   string
	Values     map[string]string
	Cash       string
	Commission string // percent per fill
	MonteCarlo bool
	Seed       string // of the Monte Carlo run's paths
	Paths      string // of a Monte Carlo job (mcjobs.go)
	// Of an optimisation job (optimize.go): a range of values per
	// "<strategy>.<param>", the metric to maximise, walk-forward folds.
	Ranges map[string]string
	Metric string
	Folds  string
}

type statRow struct{ Name, Value, Class string }

type backtestView struct {
	Form       backtestForm
	Strategies []papertrade.StrategyInfo
	Known      []sim.Instrument
	DataSets   []dataSet // uploaded price histories
	Ran        bool
	Result     *papertrade.Result
	Rows       []statRow
	Halves     [2][]statRow
	Equity     chart
	Times      []time.Time // the bars' times and closes, for the charts (charts.go)
	Closes     []float64
	MC         *papertrade.MonteCarloResult
	Bars       int
	Currency   string // of the price history ("" for an uploaded data set)
	Elapsed    time.Duration
	Job        *jobStatus    // a job's page (mcjobs.go)
	Jobs       []jobStatus   // the user's jobs, newest first
	Opt        *optimizeView // an optimisation job's result (optimize.go)
	Metrics    []optimizeMetric
	OptOpen    bool // the optimisation's fields shown open
}

// backtestFormOf reads a backtest request from the query (the page's form
// and /api/backtest take the same fields).
func backtestFormOf(c *gin.Context) backtestForm { return backtestFormFrom(c.GetQuery) }

// backtestFormFrom reads a backtest request from its fields: the query,
// a posted form (a Monte Carlo job) or a JSON body's (the API's job).
// A form submitted from the page carries run, so that an unticked
// checkbox, which sends nothing, reads as false.
func backtestFormFrom(get func(string) (string, bool)) backtestForm {
	field := func(k, def string) string {
		if v, ok := get(k); ok {
			return v
		}
		return def
	}
	run, _ := get("run")
	submitted := run != ""
	mc, _ := get("mc")
	f := backtestForm{
		Symbol:     strings.ToUpper(field("symbol", "SPY")),
		Strategy:   field("strategy", "smacross"),
		Cash:       field("cash", "10000"),
		Commission: field("commission", "0.1"),
		MonteCarlo: mc == "on",
		Seed:       field("seed", "1"),
		Paths:      field("paths", strconv.Itoa(defaultJobPaths)),
		Values:     map[string]string{},
	}
	for _, s := range papertrade.Strategies() {
		for _, p := range s.Params {
			def := p.Format(p.Default)
			if p.Type == papertrade.ParamBool && submitted {
				def = "false" // an unticked checkbox sends nothing
			}
			f.Values[s.Name+"."+p.Name] = field(s.Name+"."+p.Name, def)
		}
	}
	optimizeFormFrom(&f, field)
	return f
}

func (a *app) backtestPage(c *gin.Context) {
	f := backtestFormOf(c)
	infos := papertrade.Strategies()
	v := backtestView{Form: f, Strategies: infos, Known: sim.Instruments(), DataSets: a.dataSets(c.Request.Context()),
		Jobs: a.jobs.list(currentUser(c).ID, ""), Metrics: optimizeMetrics()}
	if c.Query("run") == "" {
		a.render(c, http.StatusOK, "backtest", view{Title: "Backtest", Active: "backtest", Data: v})
		return
	}
	v.Ran = true
	start := time.Now()
	if err := a.runBacktest(c, &v); err != nil {
		if c.Request.Context().Err() != nil {
			a.fail(c, err) // the client left
			return
		}
		v.Ran = false
		status, retry, ok := statusOf(err)
		if !ok {
			status = http.StatusBadRequest
		}
		setRetryAfter(c, retry)
		a.render(c, status, "backtest", view{Title: "Backtest", Active: "backtest", Error: err.Error(), Data: v})
		return
	}
	v.Elapsed = time.Since(start)
	a.render(c, http.StatusOK, "backtest", view{Title: "Backtest · " + f.Symbol, Active: "backtest", Data: v})
}

func (a *app) runBacktest(c *gin.Context, v *backtestView) error {
	p, err := a.planBacktest(c, v)
	if err != nil {
		return err
	}
	if err := checkBacktestWork(len(p.bars), v.Form.MonteCarlo); err != nil {
		return err
	}
	release, err := a.heavySlot(c)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(c.Request.Context(), 20*time.Second)
	defer cancel()
	var mc *papertrade.MonteCarloOptions
	if v.Form.MonteCarlo {
		mc = &papertrade.MonteCarloOptions{Paths: mcPaths, Seed: p.seed, Workers: 2}
	}
	return p.run(ctx, v, mc)
}

// backtestPlan is a checked backtest request: the strategy, the bars and
// the engine options, ready to run (now, or as a job).
type backtestPlan struct {
	info   papertrade.StrategyInfo
	params papertrade.Params
	bars   []papertrade.Bar
	opts   papertrade.Options
	seed   uint64 // of a Monte Carlo run
}

// strategy returns a fresh strategy of the plan (its parameters are
// checked).
func (p backtestPlan) strategy() papertrade.Strategy {
	s, _ := papertrade.NewStrategy(p.info.Name, p.params)
	return s
}

// planBacktest checks v.Form and loads its price history (into v's
// history fields); its errors are sentences for the user.
func (a *app) planBacktest(c *gin.Context, v *backtestView) (backtestPlan, error) {
	f := v.Form
	info, ok := papertrade.LookupStrategy(f.Strategy)
	if !ok {
		return backtestPlan{}, badInput(http.StatusBadRequest, "There is no strategy %q.", f.Strategy)
	}
	params := papertrade.Params{}
	for _, p := range info.Params {
		x, err := p.Parse(f.Values[info.Name+"."+p.Name])
		if err != nil {
			return backtestPlan{}, badInput(http.StatusBadRequest, "%s: %s", p.Label, paramProblem(p))
		}
		params[p.Name] = x
	}
	cash, err := strconv.ParseFloat(strings.TrimSpace(f.Cash), 64)
	if err != nil || !(cash > 0 && cash <= maxCash) {
		return backtestPlan{}, badInput(http.StatusBadRequest, "starting cash must be a number between 0 and %.0f", maxCash)
	}
	commPct, err := strconv.ParseFloat(strings.TrimSpace(f.Commission), 64)
	if err != nil || !(commPct >= 0 && commPct < 10) {
		return backtestPlan{}, badInput(http.StatusBadRequest, "commission must be a percentage between 0 and 10")
	}
	seed, err := strconv.ParseUint(strings.TrimSpace(f.Seed), 10, 63)
	if err != nil {
		return backtestPlan{}, badInput(http.StatusBadRequest, "The seed must be a whole number from 0 to 9223372036854775807.")
	}
	if _, err := papertrade.NewStrategy(info.Name, params); err != nil {
		return backtestPlan{}, badInput(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "papertrade: "))
	}
	h, err := a.backtestHistory(c, f.Symbol) // a symbol or an uploaded data set
	if err != nil {
		a.log.InfoContext(c.Request.Context(), "no backtest history", "symbol", f.Symbol, "error", err)
		return backtestPlan{}, badInput(http.StatusBadRequest, "There is no price history for %s.", f.Symbol)
	}
	bars, err := papertrade.FromHistory(h, false)
	if err != nil {
		a.log.InfoContext(c.Request.Context(), "history not backtestable", "symbol", f.Symbol, "error", err)
		return backtestPlan{}, badInput(http.StatusUnprocessableEntity, "The price history of %s cannot be backtested (too short or with gaps).", f.Symbol)
	}
	v.Currency = h.Currency
	v.Bars = len(bars)
	for _, b := range bars {
		v.Times, v.Closes = append(v.Times, b.Time), append(v.Closes, b.Close)
	}
	opts := papertrade.Options{Cash: cash, Fractional: h.Bars != nil && isCrypto(f.Symbol)}
	if commPct > 0 {
		opts.Commission = papertrade.RelativeCommission(commPct / 100)
	}
	return backtestPlan{info: info, params: params, bars: bars, opts: opts, seed: seed}, nil
}

// run runs the plan's backtest and, when mc is set, a Monte Carlo
// simulation over its bars with the plan's strategy, into v.
func (p backtestPlan) run(ctx context.Context, v *backtestView, mc *papertrade.MonteCarloOptions) error {
	res, err := papertrade.Run(ctx, p.bars, p.strategy(), p.opts)
	if err != nil {
		return err
	}
	v.Result = res
	v.Rows = statRows(res.Stats)
	mid := (len(v.Rows) + 1) / 2
	v.Halves = [2][]statRow{v.Rows[:mid], v.Rows[mid:]}
	v.Equity = lineChart(res.Equity, 860, 200)
	if mc == nil {
		return nil
	}
	o := *mc
	o.Backtest = p.opts
	r, err := papertrade.MonteCarlo(ctx, p.bars, p.strategy, o)
	if err != nil {
		return fmt.Errorf("monte Carlo simulation: %w", err)
	}
	r.Outcomes = nil // not shown; a long run's would be megabytes
	v.MC = r
	return nil
}

// badInput refuses a backtest request with status and a sentence for the
// user (the page shows it, /api/backtest answers it).
func badInput(status int, format string, args ...any) error {
	return &limitError{status: status, msg: fmt.Sprintf(format, args...)}
}

// paramProblem says what a parameter takes, for a form's error message.
func paramProblem(p papertrade.ParamInfo) string {
	switch p.Type {
	case papertrade.ParamInt:
		return fmt.Sprintf("give a whole number from %s to %s", p.Format(p.Min), p.Format(p.Max))
	case papertrade.ParamBool:
		return "tick the box or leave it empty"
	}
	return fmt.Sprintf("give a number from %s to %s", p.Format(p.Min), p.Format(p.Max))
}

func isCrypto(sym string) bool {
	s, err := marketdata.ParseSymbol(sym)
	return err == nil && s.Kind == marketdata.KindCrypto
}

func statRows(s papertrade.Stats) []statRow {
	days := func(d time.Duration) string { return fmt.Sprintf("%.0f days", d.Hours()/24) }
	pc := func(f float64) (string, string) {
		return fmtPct(f), signOf(f)
	}
	var rows []statRow
	add := func(name, val, class string) { rows = append(rows, statRow{name, val, class}) }
	r, cl := pc(s.ReturnPct)
	add("Return", r, cl)
	r, cl = pc(s.BuyHoldReturnPct)
	add("Buy & hold return", r, cl)
	r, cl = pc(s.ReturnAnnPct)
	add("Return (annualized)", r, cl)
	r, cl = pc(s.CAGRPct)
	add("CAGR", r, cl)
	add("Final equity", fmtNum(s.EquityFinal, 2), "")
	add("Peak equity", fmtNum(s.EquityPeak, 2), "")
	add("Volatility (annualized)", fmtNum(s.VolatilityAnnPct, 2)+"%", "")
	add("Sharpe ratio", fmtNum(s.SharpeRatio, 2), "")
	add("Sortino ratio", fmtNum(s.SortinoRatio, 2), "")
	add("Calmar ratio", fmtNum(s.CalmarRatio, 2), "")
	add("Max drawdown", fmtNum(s.MaxDrawdownPct, 2)+"%", "down")
	add("Max drawdown duration", days(s.MaxDrawdownDuration), "")
	add("Exposure", fmtNum(s.ExposurePct, 1)+"%", "")
	add("Trades", strconv.Itoa(s.NumTrades), "")
	add("Win rate", fmtNum(s.WinRatePct, 1)+"%", "")
	r, cl = pc(s.BestTradePct)
	add("Best trade", r, cl)
	r, cl = pc(s.WorstTradePct)
	add("Worst trade", r, cl)
	add("Profit factor", fmtNum(s.ProfitFactor, 2), "")
	add("SQN", fmtNum(s.SQN, 2), "")
	add("Commissions", fmtNum(s.Commissions, 2), "")
	return rows
}

func signOf(f float64) string {
	switch {
	case f > 0:
		return "up"
	case f < 0:
		return "down"
	}
	return ""
}

// --- live paper trading ---

// paperFor returns the user's paper account, opening it on first use. It
// books through papertrade.LedgerStore into the user's paper book, checked
// against the stored books in the store's write lock, so the paper account
// is an ordinary account that survives restarts and never counts in the
// user's real books.
func (a *app) paperFor(ctx context.Context, u auth.User) (*paperState, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ps, ok := a.paper[u.ID]; ok {
		return ps, nil
	}
	st := a.paperBookOf(u)
	acct := portfolio.Account{ID: paperAccountID, Name: "Paper trading", Kind: portfolio.KindBrokerage, Currency: paperCurrency}
	if err := st.SaveAccount(ctx, acct); err != nil {
		return nil, err
	}
	book, err := papertrade.OpenLedgerStore(ctx, st, 10*time.Second)
	if err != nil {
		return nil, err
	}
	orders, err := a.paperOrders(u)
	if err != nil {
		return nil, err
	}
	pa, err := papertrade.NewAccount(ctx, papertrade.AccountOptions{
		ID: paperAccountID, Currency: paperCurrency, Quotes: a.agg, Book: book,
		Deposit:     decimal.NewFromInt(paperDeposit),
		SlippageBps: paperSlippage,
		Commission:  papertrade.CommissionModel{Fixed: 1},
		MaxPending:  paperMaxPending,
		Orders:      orders,
	})
	if err != nil {
		return nil, err
	}
	ps := &paperState{acct: pa, book: book}
	a.paper[u.ID] = ps
	return ps, nil
}

// paperOrders is where the user's paper account keeps its pending orders:
// the state records of the paper book (portfolio/sqlstore's books keep
// them; they are no ledger input, so they bypass the books' cache).
func (a *app) paperOrders(u auth.User) (portfolio.StateStore, error) {
	ss, ok := a.pstore.Book(paperOwner(u)).(portfolio.StateStore)
	if !ok {
		return nil, errors.New("the portfolio store keeps no state records for pending orders")
	}
	return ss, nil
}

// paperCancel cancels a pending limit order.
func (a *app) paperCancel(c *gin.Context) {
	ps, err := a.paperFor(c.Request.Context(), currentUser(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	id, err := strconv.Atoi(c.PostForm("id"))
	if err != nil {
		err = papertrade.ErrUnknownOrder
	} else {
		err = ps.acct.Cancel(id)
	}
	if errors.Is(err, papertrade.ErrOrderFilling) {
		flashFail(c, "/paper", "That order is being filled right now.")
		return
	}
	if err != nil && !errors.Is(err, papertrade.ErrUnknownOrder) {
		a.fail(c, err) // a store failure: the order is still pending
		return
	}
	if err != nil {
		flashFail(c, "/paper", "No such pending order.")
		return
	}
	flashRedirect(c, "/paper", fmt.Sprintf("Order #%d cancelled.", id))
}

// pollPaper checks every open paper account's pending limit orders against
// fresh quotes until ctx ends. One goroutine, owned by the app.
func (a *app) pollPaper(ctx context.Context) {
	defer a.wg.Done()
	t := time.NewTicker(paperPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Every open account: another instance may have placed its
		// orders (Poll reads them from the store).
		a.mu.Lock()
		open := make([]*paperState, 0, len(a.paper))
		for _, ps := range a.paper {
			open = append(open, ps)
		}
		a.mu.Unlock()
		for _, ps := range open {
			a.poll(ctx, ps)
		}
	}
}

// poll fills the crossing limit orders of one account and records them.
func (a *app) poll(ctx context.Context, ps *paperState) {
	exs, err := ps.acct.Poll(ctx)
	if err != nil && ctx.Err() == nil {
		a.log.DebugContext(ctx, "paper poll", "error", err)
	}
	if len(exs) == 0 {
		return
	}
	a.mu.Lock()
	ps.log = append(ps.log, exs...)
	if len(ps.log) > 50 {
		ps.log = ps.log[len(ps.log)-50:]
	}
	a.mu.Unlock()
}

type paperPosition struct {
	Symbol   string
	Quantity decimal.Decimal
	AvgCost  decimal.Decimal
	Price    decimal.Decimal
	Value    decimal.Decimal
	PnL      decimal.Decimal
	PnLPct   float64
}

type paperView struct {
	Summary   string
	Cash      decimal.Decimal
	Equity    decimal.Decimal
	EquityErr string
	Gain      decimal.Decimal
	Currency  string
	Positions []paperPosition
	Fills     []papertrade.Execution
	Orders    []papertrade.LiveOrder
	Limit     string
	Tradable  []sim.Instrument
	Symbol    string
	Qty       string
	PnL       []pnlPoint // the paper book's daily P&L (paperPnL)
	PnLErr    bool       // its series could not be valued
}

// PnLChart is the paper book's P&L over time.
func (v paperView) PnLChart() template.HTML {
	return pnlChart("Paper-trading P&L over time", v.PnL, v.Currency)
}

// paperPnL is the paper book's daily P&L (value less the play money put
// in) from the book's own performance series, the cached one the
// portfolio page's value chart is drawn from for the real books, valued
// with the simulated history.
func (a *app) paperPnL(ctx context.Context, u auth.User) ([]pnlPoint, error) {
	perf, err := a.performance(ctx, paperOwner(u), a.paperBookOf(u), paperCurrency)
	if err != nil {
		return nil, err
	}
	return pnlSeries(perf), nil
}

func (a *app) paperPage(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	ps, err := a.paperFor(ctx, u)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.poll(ctx, ps)
	v := paperView{Currency: paperCurrency, Symbol: c.DefaultQuery("symbol", "AAPL"), Qty: c.DefaultQuery("qty", "10"),
		Limit: c.Query("limit"), Orders: ps.acct.Orders()}
	for _, in := range sim.Instruments() {
		if in.Currency == paperCurrency && in.Kind != marketdata.KindFX {
			v.Tradable = append(v.Tradable, in)
		}
	}
	v.Summary = ps.acct.Summary()
	v.Cash = ps.acct.Cash()
	if eq, err := ps.acct.Equity(ctx); err != nil {
		a.log.WarnContext(ctx, "paper equity unavailable", "error", err)
		v.EquityErr = err.Error()
	} else {
		v.Equity = eq
		v.Gain = eq.Sub(decimal.NewFromInt(paperDeposit))
	}
	for _, p := range ps.book.Positions(paperAccountID) {
		pp := paperPosition{Symbol: p.Symbol, Quantity: p.Quantity, AvgCost: p.AverageCost()}
		if price, _, err := a.agg.Price(ctx, p.Symbol); err == nil {
			pp.Price = price
			pp.Value = price.Mul(p.Quantity)
			pp.PnL = pp.Value.Sub(p.Basis)
			if !p.Basis.IsZero() {
				pp.PnLPct, _ = pp.PnL.Div(p.Basis.Abs()).Mul(decimalHundred).Float64()
			}
		}
		v.Positions = append(v.Positions, pp)
	}
	sort.Slice(v.Positions, func(i, j int) bool { return v.Positions[i].Symbol < v.Positions[j].Symbol })
	if v.PnL, err = a.paperPnL(ctx, u); err != nil {
		a.log.WarnContext(ctx, "paper P&L series unavailable", "error", err)
		v.PnLErr = true
	}
	a.mu.Lock()
	v.Fills = append(v.Fills, ps.log...)
	a.mu.Unlock()
	for i, j := 0, len(v.Fills)-1; i < j; i, j = i+1, j-1 {
		v.Fills[i], v.Fills[j] = v.Fills[j], v.Fills[i]
	}
	a.render(c, http.StatusOK, "paper", view{Title: "Paper trading", Active: "paper", Data: v})
}

func (a *app) paperOrder(c *gin.Context) {
	ctx := c.Request.Context()
	ps, err := a.paperFor(ctx, currentUser(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	req := paperRequest{Symbol: c.PostForm("symbol"), Qty: c.PostForm("qty"), Side: c.PostForm("side"), Limit: c.PostForm("limit")}
	back := "/paper?symbol=" + escape(strings.ToUpper(strings.TrimSpace(req.Symbol))) + "&qty=" + escape(req.Qty)
	placed, err := a.placePaper(ctx, ps, req)
	if _, _, refused := statusOf(err); refused {
		flashFail(c, back, err.Error())
		return
	} else if err != nil {
		a.fail(c, err)
		return
	}
	if placed.Fill == nil {
		flashRedirect(c, back, fmt.Sprintf("Limit order #%d placed: %s %s %s at %s %s. It fills when a quote reaches the limit.",
			placed.Order.ID, placed.Order.Side, portfolio.FormatQuantity(placed.Order.Quantity), placed.Order.Symbol,
			placed.Order.Limit.String(), paperCurrency))
		return
	}
	ex := placed.Fill
	flashRedirect(c, back, fmt.Sprintf("Filled: %s %s %s @ %s %s (fee %s)",
		ex.Side, portfolio.FormatQuantity(ex.Quantity), ex.Symbol, ex.Price.StringFixed(2), paperCurrency, ex.Fee.StringFixed(2)))
}

// paperRequest is a paper order as the paper page's form and
// /api/paper/orders give it: an empty Limit is a market order.
type paperRequest struct{ Symbol, Qty, Side, Limit string }

// paperPlaced is what placePaper did: a market order's fill, or the limit
// order left waiting.
type paperPlaced struct {
	Fill  *papertrade.Execution
	Order *papertrade.LiveOrder
}

// refused is an order refused for what it asks: 400 with a sentence.
func refused(format string, args ...any) error {
	return badInput(http.StatusBadRequest, format, args...)
}

// placePaper checks req and places it on ps. A refusal is a *limitError
// (statusOf) whose text is for the user; any other error is the server's.
func (a *app) placePaper(ctx context.Context, ps *paperState, req paperRequest) (paperPlaced, error) {
	sym := strings.ToUpper(strings.TrimSpace(req.Symbol))
	qty, err := decimal.NewFromString(strings.TrimSpace(req.Qty))
	if err != nil || !qty.IsPositive() {
		return paperPlaced{}, refused("Quantity must be a positive number.")
	}
	if _, err := marketdata.ParseSymbol(sym); err != nil {
		return paperPlaced{}, refused("Unknown symbol.")
	}
	var side papertrade.Side
	switch req.Side {
	case "buy":
		side = papertrade.Buy
	case "sell":
		side = papertrade.Sell
	default:
		return paperPlaced{}, refused("Choose buy or sell.")
	}
	if lim := strings.TrimSpace(req.Limit); lim != "" {
		limit, err := decimal.NewFromString(lim)
		if err != nil || !limit.IsPositive() {
			return paperPlaced{}, refused("The limit price must be a positive number (or empty for a market order).")
		}
		id, err := ps.acct.PlaceLimit(sym, side, qty, limit)
		if errors.Is(err, papertrade.ErrTooManyOrders) {
			return paperPlaced{}, refused("Order rejected: at most %d limit orders can wait at once; cancel one first.", paperMaxPending)
		}
		if err != nil {
			return paperPlaced{}, paperRefusal(err, sym)
		}
		for _, o := range ps.acct.Orders() {
			if o.ID == id {
				return paperPlaced{Order: &o}, nil
			}
		}
		return paperPlaced{Order: &papertrade.LiveOrder{ID: id, Symbol: sym, Side: side, Quantity: qty, Limit: limit}}, nil
	}
	var ex papertrade.Execution
	if side == papertrade.Buy {
		ex, err = ps.acct.Buy(ctx, sym, qty)
	} else {
		ex, err = ps.acct.Sell(ctx, sym, qty)
	}
	if err != nil {
		return paperPlaced{}, paperRefusal(err, sym)
	}
	a.mu.Lock()
	ps.log = append(ps.log, ex)
	if len(ps.log) > 50 {
		ps.log = ps.log[len(ps.log)-50:]
	}
	a.mu.Unlock()
	return paperPlaced{Fill: &ex}, nil
}

// paperRefusal says why a market order was refused.
func paperRefusal(err error, sym string) error {
	switch {
	case errors.Is(err, papertrade.ErrInsufficientHoldings):
		return refused("Order rejected: You cannot sell more %s than you hold.", sym)
	case errors.Is(err, papertrade.ErrCurrency):
		return refused("Order rejected: %s is not quoted in %s; the paper account trades %s instruments.", sym, paperCurrency, paperCurrency)
	case errors.Is(err, portfolio.ErrInsufficientFunds), errors.Is(err, papertrade.ErrInsufficientFunds):
		return refused("Order rejected: Not enough cash for that order.")
	case errors.Is(err, papertrade.ErrNoQuote):
		return badInput(http.StatusServiceUnavailable, "Order rejected: there is no price for %s right now; try again in a moment.", sym)
	case errors.Is(err, papertrade.ErrInvalidQuantity):
		return refused("Order rejected: the quantity must be more than 0 and at most %d, with at most %d decimals.", papertrade.MaxOrderQuantity, papertrade.OrderDecimals)
	case errors.Is(err, papertrade.ErrInvalidLimit):
		return refused("Order rejected: the limit price must be more than 0 and at most %d %s, with at most %d decimals.", papertrade.MaxOrderPrice, paperCurrency, papertrade.OrderDecimals)
	case errors.Is(err, papertrade.ErrInvalidSymbol):
		return refused("Unknown symbol.")
	case errors.Is(err, papertrade.ErrInvalidOrder):
		return refused("Order rejected: that order is not valid (check the quantity).")
	}
	return err // the server's: logged, never shown
}
