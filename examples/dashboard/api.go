package main

import (
	_ "embed"
	"encoding/json"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/logging"
)

// The JSON API under /api/: what the pages do, for scripts and the CLI.
// It shares the pages' authentication (session cookie or bearer token),
// their cross-origin protection (app.Handler) and their per-user limits,
// and calls the same validation and library functions. Its conventions,
// as in /api/quotes:
//
//   - money and prices are decimal strings with a currency field beside
//     them (analytics such as percentages and ratios are JSON numbers);
//   - durations are milliseconds, with the unit in the name (elapsed_ms);
//   - an error is {"error": code, "message": sentence, "request_id": id}
//     with its HTTP status; the error chain goes to the log only.
//
// Every route is described in openapi.json, served at /api/openapi.json;
// TestOpenAPIConformance checks both against each other.

//go:embed openapi.json
var openAPISpec []byte

// apiRoutes mounts the JSON API beside the auth handlers and the quotes
// and portfolio routes of routes.go: user is the /api group that requires
// a logged-in user.
func (a *app) apiRoutes(api, user *gin.RouterGroup) {
	api.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPISpec) })
	user.GET("/accounts", a.apiAccounts)
	user.POST("/accounts", a.apiAddAccount)
	user.GET("/transactions", a.apiTransactions)
	user.POST("/transactions", a.apiAddTransaction)
	user.PUT("/transactions/:id", a.apiEditTransaction)
	user.DELETE("/transactions/:id", a.apiDeleteTransaction)
	user.GET("/stats", a.apiStats)
	user.GET("/backtest", a.apiBacktest)
	user.GET("/montecarlo", a.apiMonteCarlo)
	user.GET("/montecarlo/jobs", a.apiJobs(jobMonteCarlo))
	user.POST("/montecarlo/jobs", a.apiStartJob)
	user.GET("/montecarlo/jobs/:id", a.apiGetJob(jobMonteCarlo))
	user.DELETE("/montecarlo/jobs/:id", a.apiCancelJob(jobMonteCarlo))
	user.GET("/optimize/jobs", a.apiJobs(jobOptimize))
	user.POST("/optimize/jobs", a.apiStartOptimize)
	user.GET("/optimize/jobs/:id", a.apiGetJob(jobOptimize))
	user.DELETE("/optimize/jobs/:id", a.apiCancelJob(jobOptimize))
	user.GET("/paper", a.apiPaper)
	user.POST("/paper/orders", a.apiPaperOrder)
	user.DELETE("/paper/orders/:id", a.apiPaperCancel)
	adm := api.Group("/admin", adapt(auth.RequireUser), a.requireRole(auth.RoleAdmin))
	adm.GET("/users", a.apiAdminUsers)
	adm.PUT("/users/:id/role", a.apiAdminSetRole)
}

// apiRefuse answers status with a JSON error: code is stable for programs,
// msg a sentence for people (never an error chain).
func apiRefuse(c *gin.Context, status int, code, msg string) {
	c.AbortWithStatusJSON(status, apiError{Error: code, Message: msg, RequestID: logging.RequestIDFrom(c.Request.Context())})
}

// apiCode is the stable error code of a status.
func apiCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusConflict:
		return "conflict"
	case http.StatusUnprocessableEntity:
		return "unprocessable"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusForbidden:
		return "forbidden"
	}
	return "error"
}

// apiLimited answers a request refused by a limit (limits.go) with its
// status and Retry-After; any other error is a logged 500.
func (a *app) apiLimited(c *gin.Context, err error) {
	status, retry, ok := statusOf(err)
	if !ok || c.Request.Context().Err() != nil {
		a.fail(c, err)
		return
	}
	setRetryAfter(c, retry)
	apiRefuse(c, status, apiCode(status), err.Error())
}

// money is an amount as a decimal string with its currency.
type money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

func moneyOf(d decimal.Decimal, currency string) money {
	return money{Amount: d.String(), Currency: currency}
}

// floatMoney is an analytics float (a backtest's equity) as money: the one
// place the API turns such a float into a decimal, as marketdata does.
func floatMoney(f float64, currency string) money {
	return money{Amount: decimalText(f), Currency: currency}
}

// jsonDecoder reads one JSON value and refuses fields the route does not
// take (a misspelt field is an error, not a silent default).
func jsonDecoder(r io.Reader) *json.Decoder {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	return dec
}
