package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/securechat"
)

// The OpenAPI conformance test: every /api/ route of the Gin engine is in
// openapi.json (path and method) and every operation there is a route; a
// real request to each operation answers a documented status whose body
// has the schema's required fields with the schema's types. The checker
// below reads the part of OpenAPI 3 the document uses: $ref, type,
// nullable, required, properties, items, enum, additionalProperties.

type oaSchema struct {
	Ref                  string               `json:"$ref"`
	Type                 string               `json:"type"`
	Nullable             bool                 `json:"nullable"`
	Required             []string             `json:"required"`
	Properties           map[string]*oaSchema `json:"properties"`
	Items                *oaSchema            `json:"items"`
	Enum                 []string             `json:"enum"`
	AdditionalProperties json.RawMessage      `json:"additionalProperties"`
}

type oaOperation struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema *oaSchema `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

type oaDoc struct {
	OpenAPI    string                            `json:"openapi"`
	Paths      map[string]map[string]oaOperation `json:"paths"`
	Components struct {
		Schemas map[string]*oaSchema `json:"schemas"`
	} `json:"components"`
}

func loadSpec(t *testing.T, raw []byte) *oaDoc {
	t.Helper()
	var d oaDoc
	require.NoError(t, json.Unmarshal(raw, &d))
	require.True(t, strings.HasPrefix(d.OpenAPI, "3."), "OpenAPI 3, got %q", d.OpenAPI)
	return &d
}

// check returns what in v does not match s, each with its JSON path.
func (d *oaDoc) check(s *oaSchema, v any, at string) []string {
	for s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		if !ok || d.Components.Schemas[name] == nil {
			return []string{at + ": unresolvable $ref " + s.Ref}
		}
		nullable := s.Nullable
		s = d.Components.Schemas[name]
		if nullable && v == nil {
			return nil
		}
	}
	if v == nil {
		if s.Nullable {
			return nil
		}
		return []string{at + ": null, want " + s.Type}
	}
	var bad []string
	typeErr := func(want string) []string { return []string{fmt.Sprintf("%s: %T, want %s", at, v, want)} }
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr("object")
		}
		for _, k := range s.Required {
			if _, ok := m[k]; !ok {
				bad = append(bad, at+"."+k+": required, missing")
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := s.Properties[k]; ok {
				bad = append(bad, d.check(ps, m[k], at+"."+k)...)
			} else if string(s.AdditionalProperties) == "false" {
				bad = append(bad, at+"."+k+": not in the schema")
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return typeErr("array")
		}
		for i, x := range a {
			if s.Items != nil {
				bad = append(bad, d.check(s.Items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return typeErr("string")
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			bad = append(bad, fmt.Sprintf("%s: %q not one of %v", at, str, s.Enum))
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			return typeErr("integer")
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return typeErr("number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return typeErr("boolean")
		}
	case "":
	default:
		bad = append(bad, at+": unknown schema type "+s.Type)
	}
	return bad
}

func TestOpenAPICheckerCatchesMismatches(t *testing.T) {
	d := loadSpec(t, openAPISpec)
	money := &oaSchema{Ref: "#/components/schemas/Money"}
	for _, tc := range []struct {
		body string
		bad  int
	}{
		{`{"amount":"1.50","currency":"USD"}`, 0},
		{`{"amount":1.5,"currency":"USD"}`, 1},   // a float, not a decimal string
		{`{"amount":"1.50"}`, 1},                 // no currency
		{`null`, 1},                              // not nullable
		{`{"amount":"1","currency":["USD"]}`, 1}, // wrong type
	} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(tc.body), &v))
		assert.Len(t, d.check(money, v, "$"), tc.bad, tc.body)
	}
	tx := &oaSchema{Ref: "#/components/schemas/Transaction"}
	var v any
	require.NoError(t, json.Unmarshal([]byte(`{"id":"x","kind":"gift"}`), &v))
	problems := d.check(tx, v, "$")
	assert.Contains(t, problems, `$.kind: "gift" not one of [deposit withdrawal buy sell dividend interest fee tax transfer_in transfer_out split]`)
	assert.Contains(t, problems, "$.account: required, missing")
}

// oaPath turns a Gin pattern into an OpenAPI path: /x/:id → /x/{id}.
var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

func oaPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

func TestOpenAPIRoutesMatchEngine(t *testing.T) {
	e := newTestEnv(t)
	d := loadSpec(t, openAPISpec)
	registered := map[string]bool{}
	for _, r := range e.app.engine.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		key := r.Method + " " + oaPath(r.Path)
		registered[key] = true
		op, ok := d.Paths[oaPath(r.Path)][strings.ToLower(r.Method)]
		if assert.True(t, ok, "route %s is not in openapi.json", key) {
			assert.NotEmpty(t, op.Responses, key)
		}
	}
	for p, ops := range d.Paths {
		for m := range ops {
			assert.True(t, registered[strings.ToUpper(m)+" "+p], "openapi.json documents %s %s, which is no route", strings.ToUpper(m), p)
		}
	}
	assert.GreaterOrEqual(t, len(registered), 21)
}

// apiCall is one request of the conformance run.
type apiCall struct {
	name   string
	client *http.Client
	bearer string
	method string
	path   string // as sent, with query
	op     string // the OpenAPI path
	body   any
	status int
}

func (e *testEnv) do(t *testing.T, ac apiCall) (int, []byte) {
	t.Helper()
	var body io.Reader
	if ac.body != nil {
		b, err := json.Marshal(ac.body)
		require.NoError(t, err)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(ac.method, e.srv.URL+ac.path, body)
	require.NoError(t, err)
	if ac.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ac.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+ac.bearer)
	}
	c := ac.client
	if c == nil {
		c = e.client(t)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// conform sends ac, checks the status, that the spec documents it for the
// operation, and that the body matches the documented schema. It returns
// the decoded body.
func (e *testEnv) conform(t *testing.T, d *oaDoc, ac apiCall, seen map[string]bool) map[string]any {
	t.Helper()
	status, raw := e.do(t, ac)
	require.Equal(t, ac.status, status, "%s: %s %s answered %s", ac.name, ac.method, ac.path, raw)
	key := ac.method + " " + ac.op
	op, ok := d.Paths[ac.op][strings.ToLower(ac.method)]
	require.True(t, ok, "%s is not in openapi.json", key)
	r, ok := op.Responses[fmt.Sprint(status)]
	require.True(t, ok, "%s: status %d is not documented", key, status)
	if status < 300 {
		seen[key] = true
	}
	ct, ok := r.Content["application/json"]
	if !ok || ct.Schema == nil {
		assert.Empty(t, raw, "%s %d: documented without a body", key, status)
		return nil
	}
	var v any
	require.NoError(t, json.Unmarshal(raw, &v), "%s: %s", key, raw)
	assert.Empty(t, d.check(ct.Schema, v, "$"), "%s %d: %s", key, status, raw)
	m, _ := v.(map[string]any)
	return m
}

func TestOpenAPIConformance(t *testing.T) {
	e := newTestEnv(t)
	d := loadSpec(t, openAPISpec)
	seen := map[string]bool{}
	anon := e.client(t)
	admin := e.user(t, "ada", auth.RoleAdmin)
	bob := e.user(t, "bob", auth.RoleUser)
	// Bob loads the demo portfolio through the page, so there is
	// something to list, edit and delete.
	status, _, _ := e.post(t, bob, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	call := func(ac apiCall) map[string]any { t.Helper(); return e.conform(t, d, ac, seen) }

	// The document itself, and logins: a JSON login gives a bearer token.
	doc := call(apiCall{name: "spec", method: "GET", path: "/api/openapi.json", op: "/api/openapi.json", status: 200})
	assert.Equal(t, "3.0.3", doc["openapi"])
	call(apiCall{name: "bad login", method: "POST", path: "/api/login", op: "/api/login",
		body: map[string]string{"username": "bob", "password": "wrong wrong wrong wrong"}, status: 401})
	login := call(apiCall{name: "login", method: "POST", path: "/api/login", op: "/api/login",
		body: map[string]string{"username": "bob", "password": testPassword}, status: 200})
	token, _ := login["token"].(string)
	require.NotEmpty(t, token)

	// Every user route answers 401 without a session (logout has nothing
	// to end).
	for p, ops := range d.Paths {
		for m := range ops {
			if p == "/api/openapi.json" || p == "/api/login" {
				continue
			}
			path := strings.NewReplacer("{id}", "x").Replace(p)
			var body any
			if m == "post" || m == "put" {
				body = map[string]string{}
			}
			want := http.StatusUnauthorized
			if p == "/api/logout" {
				want = http.StatusNoContent // nothing to end
			}
			call(apiCall{name: "anonymous", client: anon, method: strings.ToUpper(m), path: path, op: p, body: body, status: want})
		}
	}

	call(apiCall{name: "quotes", bearer: token, method: "GET", path: "/api/quotes?symbols=AAPL,BTC-USD", op: "/api/quotes", status: 200})
	call(apiCall{name: "bad quotes", bearer: token, method: "GET", path: "/api/quotes?symbols=not+a+symbol!", op: "/api/quotes", status: 400})
	call(apiCall{name: "portfolio", bearer: token, method: "GET", path: "/api/portfolio?base=EUR", op: "/api/portfolio", status: 200})

	// Accounts: list, add, refuse a duplicate and a bad id.
	accts := call(apiCall{name: "accounts", client: bob, method: "GET", path: "/api/accounts", op: "/api/accounts", status: 200})
	assert.Len(t, accts["accounts"], 3)
	call(apiCall{name: "add account", bearer: token, method: "POST", path: "/api/accounts", op: "/api/accounts",
		body: map[string]string{"id": "pension", "name": "Pension", "kind": "brokerage", "currency": "NOK"}, status: 201})
	dup := call(apiCall{name: "duplicate account", bearer: token, method: "POST", path: "/api/accounts", op: "/api/accounts",
		body: map[string]string{"id": "pension", "kind": "brokerage", "currency": "NOK"}, status: 400})
	assert.NotContains(t, dup["message"], "portfolio:")
	call(apiCall{name: "bad account id", bearer: token, method: "POST", path: "/api/accounts", op: "/api/accounts",
		body: map[string]string{"id": "../x", "kind": "brokerage", "currency": "NOK"}, status: 400})

	// Transactions: list with a filter and paging, add, refuse, edit, delete.
	list := call(apiCall{name: "list", client: bob, method: "GET", path: "/api/transactions", op: "/api/transactions", status: 200})
	total := int(list["total"].(float64))
	require.Positive(t, total)
	buys := call(apiCall{name: "buys", client: bob, method: "GET", path: "/api/transactions?kind=buy&account=broker&page=1", op: "/api/transactions", status: 200})
	for _, x := range buys["transactions"].([]any) {
		assert.Equal(t, "buy", x.(map[string]any)["kind"])
	}
	assert.Less(t, int(buys["total"].(float64)), total)
	added := call(apiCall{name: "add", bearer: token, method: "POST", path: "/api/transactions", op: "/api/transactions",
		body: map[string]string{"account": "broker", "kind": "deposit", "date": "2025-03-03", "amount": "1234.56"}, status: 201})
	id := added["id"].(string)
	assert.Equal(t, map[string]any{"amount": "1234.56", "currency": "USD"}, added["amount"])
	fields := call(apiCall{name: "bad fields", bearer: token, method: "POST", path: "/api/transactions", op: "/api/transactions",
		body: map[string]string{"account": "nope", "kind": "buy", "date": "3 March", "quantity": "ten"}, status: 400})
	assert.Contains(t, fields["fields"], "account")
	assert.Contains(t, fields["fields"], "date")
	assert.Contains(t, fields["fields"], "quantity")
	call(apiCall{name: "unknown field", bearer: token, method: "POST", path: "/api/transactions", op: "/api/transactions",
		body: map[string]string{"account": "broker", "kind": "deposit", "date": "2025-03-03", "amount": "1", "owner": "ada"}, status: 400})
	over := call(apiCall{name: "overspend", bearer: token, method: "POST", path: "/api/transactions", op: "/api/transactions",
		body: map[string]string{"account": "broker", "kind": "withdrawal", "date": "2025-03-04", "amount": "99999999"}, status: 422})
	assert.NotContains(t, over["message"], "portfolio:", "no error chain")
	mismatch := call(apiCall{name: "currency mismatch", bearer: token, method: "POST", path: "/api/transactions", op: "/api/transactions",
		body: map[string]string{"account": "broker", "kind": "deposit", "date": "2025-03-04", "amount": "10", "currency": "JPY"}, status: 422})
	assert.Contains(t, mismatch["message"], "currency")
	edited := call(apiCall{name: "edit", bearer: token, method: "PUT", path: "/api/transactions/" + id, op: "/api/transactions/{id}",
		body: map[string]string{"amount": "1000"}, status: 200})
	assert.Equal(t, "1000", edited["amount"].(map[string]any)["amount"])
	call(apiCall{name: "bad edit", bearer: token, method: "PUT", path: "/api/transactions/" + id, op: "/api/transactions/{id}",
		body: map[string]string{"amount": "lots"}, status: 400})
	call(apiCall{name: "edit missing", bearer: token, method: "PUT", path: "/api/transactions/nope", op: "/api/transactions/{id}",
		body: map[string]string{"amount": "1"}, status: 404})
	call(apiCall{name: "other user's", client: admin, method: "DELETE", path: "/api/transactions/" + id, op: "/api/transactions/{id}", status: 404})
	call(apiCall{name: "delete", bearer: token, method: "DELETE", path: "/api/transactions/" + id, op: "/api/transactions/{id}", status: 204})
	call(apiCall{name: "delete again", bearer: token, method: "DELETE", path: "/api/transactions/" + id, op: "/api/transactions/{id}", status: 404})

	// Statistics, backtest, Monte Carlo.
	st := call(apiCall{name: "stats", client: bob, method: "GET", path: "/api/stats?symbol=AAPL", op: "/api/stats", status: 200})
	assert.Equal(t, "USD", st["currency"])
	call(apiCall{name: "stats unknown", client: bob, method: "GET", path: "/api/stats?symbol=NOPE", op: "/api/stats", status: 404})
	bt := call(apiCall{name: "backtest", client: bob, method: "GET", path: "/api/backtest?symbol=SPY&strategy=smacross&cash=10000", op: "/api/backtest", status: 200})
	assert.Equal(t, "USD", bt["cash"].(map[string]any)["currency"])
	assert.NotContains(t, bt, "monte_carlo")
	call(apiCall{name: "bad cash", client: bob, method: "GET", path: "/api/backtest?cash=-5", op: "/api/backtest", status: 400})
	nope := call(apiCall{name: "no history", client: bob, method: "GET", path: "/api/backtest?symbol=NOPE", op: "/api/backtest", status: 400})
	assert.NotContains(t, nope["message"], "not found:", "no error chain")
	call(apiCall{name: "no strategy", client: bob, method: "GET", path: "/api/backtest?strategy=magic", op: "/api/backtest", status: 400})
	// The per-user limit of the pages: while bob holds his heavy slot
	// (another backtest or export), the API refuses him with 429 and
	// Retry-After; nothing waits.
	release, ok := e.app.heavyUsers.acquire(mustUser(t, e, "bob").ID)
	require.True(t, ok)
	busy := call(apiCall{name: "busy", client: bob, method: "GET", path: "/api/montecarlo?symbol=SPY", op: "/api/montecarlo", status: 429})
	assert.Contains(t, busy["message"], "already have a backtest")
	release()
	mc := call(apiCall{name: "montecarlo", client: bob, method: "GET", path: "/api/montecarlo?symbol=SPY", op: "/api/montecarlo", status: 200})
	require.Contains(t, mc, "monte_carlo")
	assert.EqualValues(t, mcPaths, mc["monte_carlo"].(map[string]any)["paths"])
	// A Monte Carlo job: started, read, cancelled; another's is not found.
	job := call(apiCall{name: "start job", client: bob, method: "POST", path: "/api/montecarlo/jobs", op: "/api/montecarlo/jobs",
		body: map[string]any{"symbol": "SPY", "paths": 20_000}, status: 202})
	jobID := job["id"].(string)
	call(apiCall{name: "second job", client: bob, method: "POST", path: "/api/montecarlo/jobs", op: "/api/montecarlo/jobs",
		body: map[string]any{"paths": 10}, status: 429})
	call(apiCall{name: "bad job", client: admin, method: "POST", path: "/api/montecarlo/jobs", op: "/api/montecarlo/jobs",
		body: map[string]any{"paths": 0}, status: 400})
	call(apiCall{name: "job", client: bob, method: "GET", path: "/api/montecarlo/jobs/" + jobID, op: "/api/montecarlo/jobs/{id}", status: 200})
	listed := call(apiCall{name: "jobs", client: bob, method: "GET", path: "/api/montecarlo/jobs", op: "/api/montecarlo/jobs", status: 200})
	require.Len(t, listed["jobs"], 1)
	assert.Equal(t, jobID, listed["jobs"].([]any)[0].(map[string]any)["id"])
	others := call(apiCall{name: "others' jobs", client: admin, method: "GET", path: "/api/montecarlo/jobs", op: "/api/montecarlo/jobs", status: 200})
	assert.Empty(t, others["jobs"], "another user's jobs are not listed")
	call(apiCall{name: "other's job", client: admin, method: "GET", path: "/api/montecarlo/jobs/" + jobID, op: "/api/montecarlo/jobs/{id}", status: 404})
	call(apiCall{name: "cancel job", client: bob, method: "DELETE", path: "/api/montecarlo/jobs/" + jobID, op: "/api/montecarlo/jobs/{id}", status: 200})
	small := call(apiCall{name: "small job", client: bob, method: "POST", path: "/api/montecarlo/jobs", op: "/api/montecarlo/jobs",
		body: map[string]any{"symbol": "SPY", "paths": 20}, status: 202})
	for small["state"] == jobRunning {
		small = call(apiCall{name: "job done", client: bob, method: "GET", path: "/api/montecarlo/jobs/" + small["id"].(string), op: "/api/montecarlo/jobs/{id}", status: 200})
	}
	assert.Equal(t, jobDone, small["state"])
	// An optimisation job, through the same machinery.
	opt := call(apiCall{name: "optimize", client: bob, method: "POST", path: "/api/optimize/jobs", op: "/api/optimize/jobs",
		body: map[string]any{"symbol": "SPY", "ranges": map[string]string{"fast": "5:20:5", "slow": "20,30"}, "metric": "sqn", "folds": 1}, status: 202})
	call(apiCall{name: "bad optimize", client: admin, method: "POST", path: "/api/optimize/jobs", op: "/api/optimize/jobs",
		body: map[string]any{"ranges": map[string]string{"bogus": "1,2"}}, status: 400})
	call(apiCall{name: "other's optimize", client: admin, method: "GET", path: "/api/optimize/jobs/" + opt["id"].(string), op: "/api/optimize/jobs/{id}", status: 404})
	listed = call(apiCall{name: "optimize jobs", client: bob, method: "GET", path: "/api/optimize/jobs", op: "/api/optimize/jobs", status: 200})
	require.Len(t, listed["jobs"], 1)
	for opt["state"] == jobRunning {
		opt = call(apiCall{name: "optimize done", client: bob, method: "GET", path: "/api/optimize/jobs/" + opt["id"].(string), op: "/api/optimize/jobs/{id}", status: 200})
	}
	require.Equal(t, jobDone, opt["state"], "%v", opt["message"])
	call(apiCall{name: "cancel optimize", client: bob, method: "DELETE", path: "/api/optimize/jobs/" + opt["id"].(string), op: "/api/optimize/jobs/{id}", status: 200})

	// Paper trading: a market buy, a limit order, its cancellation.
	call(apiCall{name: "paper", client: bob, method: "GET", path: "/api/paper", op: "/api/paper", status: 200})
	fill := call(apiCall{name: "buy", client: bob, method: "POST", path: "/api/paper/orders", op: "/api/paper/orders",
		body: map[string]string{"symbol": "AAPL", "side": "buy", "quantity": "2"}, status: 201})
	assert.Equal(t, "filled", fill["status"])
	pend := call(apiCall{name: "limit", client: bob, method: "POST", path: "/api/paper/orders", op: "/api/paper/orders",
		body: map[string]string{"symbol": "AAPL", "side": "buy", "quantity": "1", "limit": "0.01"}, status: 201})
	require.Equal(t, "pending", pend["status"])
	oid := fmt.Sprint(pend["order"].(map[string]any)["id"])
	call(apiCall{name: "paper after", client: bob, method: "GET", path: "/api/paper", op: "/api/paper", status: 200})
	call(apiCall{name: "sell too much", client: bob, method: "POST", path: "/api/paper/orders", op: "/api/paper/orders",
		body: map[string]string{"symbol": "AAPL", "side": "sell", "quantity": "1000"}, status: 400})
	call(apiCall{name: "cancel", client: bob, method: "DELETE", path: "/api/paper/orders/" + oid, op: "/api/paper/orders/{id}", status: 204})
	call(apiCall{name: "cancel again", client: bob, method: "DELETE", path: "/api/paper/orders/" + oid, op: "/api/paper/orders/{id}", status: 404})

	// Chat directory: bob links a key he holds.
	call(apiCall{name: "directory", client: bob, method: "GET", path: "/api/chat/directory", op: "/api/chat/directory", status: 200})
	id1, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	bobID := mustUser(t, e, "bob").ID
	call(apiCall{name: "link", client: bob, method: "PUT", path: "/api/chat/identity", op: "/api/chat/identity",
		body: json.RawMessage(linkBody(id1, e.app.cfg.relayHost(), bobID)), status: 200})
	call(apiCall{name: "link for another", client: admin, method: "PUT", path: "/api/chat/identity", op: "/api/chat/identity",
		body: json.RawMessage(linkBody(id1, e.app.cfg.relayHost(), bobID)), status: 400})

	// Admin: 403 for a user, the list and a role change for an admin.
	call(apiCall{name: "not admin", client: bob, method: "GET", path: "/api/admin/users", op: "/api/admin/users", status: 403})
	users := call(apiCall{name: "users", client: admin, method: "GET", path: "/api/admin/users", op: "/api/admin/users", status: 200})
	assert.Len(t, users["users"], 2)
	call(apiCall{name: "not admin role", bearer: token, method: "PUT", path: "/api/admin/users/" + bobID + "/role", op: "/api/admin/users/{id}/role",
		body: map[string]string{"role": "admin"}, status: 403})
	adaID := mustUser(t, e, "ada").ID
	call(apiCall{name: "own role", client: admin, method: "PUT", path: "/api/admin/users/" + adaID + "/role", op: "/api/admin/users/{id}/role",
		body: map[string]string{"role": "user"}, status: 409})
	call(apiCall{name: "bad role", client: admin, method: "PUT", path: "/api/admin/users/" + bobID + "/role", op: "/api/admin/users/{id}/role",
		body: map[string]string{"role": "root"}, status: 400})
	call(apiCall{name: "role", client: admin, method: "PUT", path: "/api/admin/users/" + bobID + "/role", op: "/api/admin/users/{id}/role",
		body: map[string]string{"role": "admin"}, status: 200})

	// Logout ends the bearer session (the role change already did; log
	// in again first).
	login = call(apiCall{name: "login again", method: "POST", path: "/api/login", op: "/api/login",
		body: map[string]string{"username": "bob", "password": testPassword}, status: 200})
	token = login["token"].(string)
	call(apiCall{name: "logout", bearer: token, method: "POST", path: "/api/logout", op: "/api/logout", status: 204})
	call(apiCall{name: "after logout", bearer: token, method: "GET", path: "/api/paper", op: "/api/paper", status: 401})

	// Every documented operation answered with success at least once.
	for p, ops := range d.Paths {
		for m := range ops {
			assert.True(t, seen[strings.ToUpper(m)+" "+p], "%s %s was never called successfully", strings.ToUpper(m), p)
		}
	}
}

// TestAPICrossOriginWriteRefused: a browser's cross-site write to the API
// is refused before it reaches the handler, with a JSON error, and books
// nothing.
func TestAPICrossOriginWriteRefused(t *testing.T) {
	e := newTestEnv(t)
	d := loadSpec(t, openAPISpec)
	c := e.user(t, "carol", auth.RoleUser)
	status, _, _ := e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	before, _ := e.do(t, apiCall{client: c, method: "GET", path: "/api/transactions"})
	require.Equal(t, http.StatusOK, before)
	b, err := json.Marshal(map[string]string{"account": "broker", "kind": "deposit", "date": "2025-01-02", "amount": "5"})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.srv.URL+"/api/transactions", bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "http://evil.example")
	resp, err := c.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	var v any
	require.NoError(t, json.Unmarshal(raw, &v), "a JSON error: %s", raw)
	assert.Empty(t, d.check(&oaSchema{Ref: "#/components/schemas/Error"}, v, "$"))
	_, body, _ := e.get(t, c, "/api/transactions?kind=deposit&account=broker")
	assert.NotContains(t, body, `"amount":"5"`)
}

// TestTransactionPageCurrencyMismatchIsTheUsersError: a hand-typed
// transaction in a currency other than the account's, without an FX rate,
// is refused with the reason (it was a 500 "something went wrong"), and
// nothing is booked.
func TestTransactionPageCurrencyMismatchIsTheUsersError(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "dora", auth.RoleUser)
	status, _, _ := e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	form := map[string][]string{"account": {"broker"}, "kind": {"deposit"}, "date": {"2025-03-04"}, "amount": {"10"}, "currency": {"JPY"}}
	status, body, _ := e.post(t, c, "/transactions", form)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "was not booked")
	_, list, _ := e.get(t, c, "/api/transactions?kind=deposit&account=broker")
	assert.NotContains(t, list, `"JPY"`)
}
