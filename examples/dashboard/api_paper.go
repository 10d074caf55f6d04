package main

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/papertrade"
)

// /api/paper: the paper-trading page as JSON, and its orders. Orders go
// through placePaper, the page's own checks and library calls.

type apiPaper struct {
	Currency  string          `json:"currency"`
	Cash      money           `json:"cash"`
	Equity    *money          `json:"equity"` // null when a held symbol has no price
	Gain      *money          `json:"gain"`   // equity less the play-money deposit
	Deposit   money           `json:"deposit"`
	Positions []apiPaperPos   `json:"positions"`
	Orders    []apiPaperOrder `json:"orders"` // pending limit orders
	Fills     []apiPaperFill  `json:"fills"`  // newest first
	Summary   string          `json:"summary"`
	// PnL is the paper book's daily P&L, the points of the page's chart;
	// null when the series cannot be valued.
	PnL []apiPnLPoint `json:"pnl"`
}

// apiPnLPoint is one day of a book's P&L: its value, the net deposits up
// to that day and their difference (analytics floats as decimal strings).
type apiPnLPoint struct {
	Date        string `json:"date"` // YYYY-MM-DD
	Value       money  `json:"value"`
	NetDeposits money  `json:"net_deposits"`
	PnL         money  `json:"pnl"`
}

func apiPnLOf(pts []pnlPoint, currency string) []apiPnLPoint {
	out := make([]apiPnLPoint, len(pts))
	for i, p := range pts {
		out[i] = apiPnLPoint{Date: p.Time.Format(time.DateOnly), Value: floatMoney(p.Value, currency),
			NetDeposits: floatMoney(p.Deposits, currency), PnL: floatMoney(p.PnL, currency)}
	}
	return out
}

type apiPaperPos struct {
	Symbol   string   `json:"symbol"`
	Quantity string   `json:"quantity"`
	AvgCost  money    `json:"avg_cost"`
	Price    *money   `json:"price"`
	Value    *money   `json:"value"`
	PnL      *money   `json:"pnl"`
	PnLPct   *float64 `json:"pnl_pct"`
}

type apiPaperOrder struct {
	ID       int       `json:"id"`
	Symbol   string    `json:"symbol"`
	Side     string    `json:"side"`
	Quantity string    `json:"quantity"`
	Limit    money     `json:"limit"`
	Placed   time.Time `json:"placed"`
}

type apiPaperFill struct {
	OrderID  int       `json:"order_id"`
	Symbol   string    `json:"symbol"`
	Side     string    `json:"side"`
	Quantity string    `json:"quantity"`
	Price    money     `json:"price"`
	Fee      money     `json:"fee"`
	Time     time.Time `json:"time"`
}

func apiOrderOf(o papertrade.LiveOrder) apiPaperOrder {
	return apiPaperOrder{ID: o.ID, Symbol: o.Symbol, Side: o.Side.String(), Quantity: o.Quantity.String(),
		Limit: moneyOf(o.Limit, paperCurrency), Placed: o.Placed}
}

func apiFillOf(ex papertrade.Execution) apiPaperFill {
	return apiPaperFill{OrderID: ex.OrderID, Symbol: ex.Symbol, Side: ex.Side.String(), Quantity: ex.Quantity.String(),
		Price: moneyOf(ex.Price, paperCurrency), Fee: moneyOf(ex.Fee, paperCurrency), Time: ex.Time}
}

func optMoney(d decimal.Decimal, ok bool) *money {
	if !ok {
		return nil
	}
	m := moneyOf(d, paperCurrency)
	return &m
}

// apiPaper is GET /api/paper: the paper account, as the page shows it.
func (a *app) apiPaper(c *gin.Context) {
	ctx := c.Request.Context()
	ps, err := a.paperFor(ctx, currentUser(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	a.poll(ctx, ps)
	out := apiPaper{Currency: paperCurrency, Cash: moneyOf(ps.acct.Cash(), paperCurrency), Summary: ps.acct.Summary(),
		Deposit:   moneyOf(decimal.NewFromInt(paperDeposit), paperCurrency),
		Positions: []apiPaperPos{}, Orders: []apiPaperOrder{}, Fills: []apiPaperFill{}}
	if eq, err := ps.acct.Equity(ctx); err != nil {
		a.log.WarnContext(ctx, "paper equity unavailable", "error", err)
	} else {
		out.Equity = optMoney(eq, true)
		out.Gain = optMoney(eq.Sub(decimal.NewFromInt(paperDeposit)), true)
	}
	for _, p := range ps.book.Positions(paperAccountID) {
		pp := apiPaperPos{Symbol: p.Symbol, Quantity: p.Quantity.String(), AvgCost: moneyOf(p.AverageCost(), paperCurrency)}
		if price, _, err := a.agg.Price(ctx, p.Symbol); err == nil {
			value := price.Mul(p.Quantity)
			pnl := value.Sub(p.Basis)
			pp.Price, pp.Value, pp.PnL = optMoney(price, true), optMoney(value, true), optMoney(pnl, true)
			if !p.Basis.IsZero() {
				f, _ := pnl.Div(p.Basis.Abs()).Mul(decimalHundred).Float64()
				pp.PnLPct = num(f)
			}
		}
		out.Positions = append(out.Positions, pp)
	}
	sort.Slice(out.Positions, func(i, j int) bool { return out.Positions[i].Symbol < out.Positions[j].Symbol })
	for _, o := range ps.acct.Orders() {
		out.Orders = append(out.Orders, apiOrderOf(o))
	}
	if pts, err := a.paperPnL(ctx, currentUser(c)); err != nil {
		a.log.WarnContext(ctx, "paper P&L series unavailable", "error", err)
	} else {
		out.PnL = apiPnLOf(pts, paperCurrency)
	}
	a.mu.Lock()
	for i := len(ps.log) - 1; i >= 0; i-- {
		out.Fills = append(out.Fills, apiFillOf(ps.log[i]))
	}
	a.mu.Unlock()
	c.JSON(http.StatusOK, out)
}

// apiPaperOrderReq is the body of POST /api/paper/orders.
type apiPaperOrderReq struct {
	Symbol   string `json:"symbol"`
	Side     string `json:"side"`     // buy or sell
	Quantity string `json:"quantity"` // a decimal string
	Limit    string `json:"limit"`    // a decimal string; empty for a market order
}

// apiPaperOrderResp is a placed order: filled at once (market) or waiting
// (limit).
type apiPaperOrderResp struct {
	Status string         `json:"status"` // filled or pending
	Fill   *apiPaperFill  `json:"fill,omitempty"`
	Order  *apiPaperOrder `json:"order,omitempty"`
}

// apiPaperOrder is POST /api/paper/orders: 201 with the fill or the
// pending order, 400 with the page's reason when it is refused.
func (a *app) apiPaperOrder(c *gin.Context) {
	ctx := c.Request.Context()
	var req apiPaperOrderReq
	if !bindJSON(c, &req) {
		return
	}
	ps, err := a.paperFor(ctx, currentUser(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	placed, err := a.placePaper(ctx, ps, paperRequest{Symbol: req.Symbol, Qty: req.Quantity, Side: req.Side, Limit: req.Limit})
	if err != nil {
		a.apiLimited(c, err)
		return
	}
	if placed.Fill != nil {
		f := apiFillOf(*placed.Fill)
		c.JSON(http.StatusCreated, apiPaperOrderResp{Status: "filled", Fill: &f})
		return
	}
	o := apiOrderOf(*placed.Order)
	c.JSON(http.StatusCreated, apiPaperOrderResp{Status: "pending", Order: &o})
}

// apiPaperCancel is DELETE /api/paper/orders/{id}: 204, 404 when no such
// order is pending, 409 while it is being filled; a store failure is a
// server error, not a "no such order" (the order is still pending).
func (a *app) apiPaperCancel(c *gin.Context) {
	ps, err := a.paperFor(c.Request.Context(), currentUser(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	id, err := strconv.Atoi(c.Param("id"))
	if err != nil {
		err = papertrade.ErrUnknownOrder
	} else {
		err = ps.acct.Cancel(id)
	}
	switch {
	case err == nil:
		c.Status(http.StatusNoContent)
	case errors.Is(err, papertrade.ErrUnknownOrder):
		apiRefuse(c, http.StatusNotFound, "not_found", "No such pending order.")
	case errors.Is(err, papertrade.ErrOrderFilling):
		apiRefuse(c, http.StatusConflict, "conflict", "The order is being filled right now.")
	default:
		a.fail(c, err)
	}
}

// maxAPIBody bounds a JSON request body.
const maxAPIBody = 64 << 10

// bindJSON decodes the request's JSON body into v (unknown fields
// refused), or answers 400 and returns false.
func bindJSON(c *gin.Context, v any) bool {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxAPIBody)
	dec := jsonDecoder(c.Request.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			apiRefuse(c, http.StatusRequestEntityTooLarge, "too_large", "The request body is too large.")
			return false
		}
		apiRefuse(c, http.StatusBadRequest, "bad_request", "The request body is not the JSON object this route takes.")
		return false
	}
	return true
}

// --- admin ---

type apiAdminUser struct {
	ID       string    `json:"id"`
	Username string    `json:"username"`
	Role     string    `json:"role"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
	Sessions int       `json:"sessions"`
	Self     bool      `json:"self"`
}

func apiAdminUserOf(u auth.User, sessions int, self bool) apiAdminUser {
	return apiAdminUser{ID: u.ID, Username: u.Username, Role: string(u.Role), Disabled: u.Disabled, Created: u.CreatedAt,
		Sessions: sessions, Self: self}
}

// apiAdminUsers is GET /api/admin/users: the admin page's user list.
func (a *app) apiAdminUsers(c *gin.Context) {
	ctx := c.Request.Context()
	me := currentUser(c)
	users, err := a.auth.Users(ctx)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]apiAdminUser, 0, len(users))
	for _, u := range users {
		ss, err := a.auth.Sessions(ctx, u.ID)
		if err != nil {
			a.fail(c, err)
			return
		}
		out = append(out, apiAdminUserOf(u, len(ss), u.ID == me.ID))
	}
	c.JSON(http.StatusOK, gin.H{"users": out})
}

// apiAdminSetRole is PUT /api/admin/users/{id}/role with {"role": …}, as
// the admin page's role form: never one's own role; the user's sessions
// end.
func (a *app) apiAdminSetRole(c *gin.Context) {
	var req struct {
		Role string `json:"role"`
	}
	if !bindJSON(c, &req) {
		return
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		apiRefuse(c, http.StatusBadRequest, "bad_request", "Unknown role: give user or admin.")
		return
	}
	id := c.Param("id")
	if id == currentUser(c).ID {
		apiRefuse(c, http.StatusConflict, "conflict", "You cannot change your own role here; use `finkit user set-role`.")
		return
	}
	u, err := a.auth.SetRole(c.Request.Context(), id, role)
	if errors.Is(err, auth.ErrNotFound) {
		apiRefuse(c, http.StatusNotFound, "not_found", "No such user.")
		return
	} else if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, apiAdminUserOf(u, 0, false))
}
