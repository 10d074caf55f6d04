package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

// benchPassword is the password of the benchmark's users (long enough for
// the dashboard's policy; the database is thrown away after the run).
const benchPassword = "correct horse battery staple bench"

// register creates a user through the registration form, then logs in
// through the JSON API and returns the bearer token.
func register(ctx context.Context, c *http.Client, base, name string) (string, error) {
	form := url.Values{"username": {name}, "password": {benchPassword}, "confirm": {benchPassword}}
	resp, err := post(ctx, c, base+"/register", "", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("register %s: status %d", name, resp.StatusCode)
	}
	body, _ := json.Marshal(map[string]string{"username": name, "password": benchPassword})
	resp, err = post(ctx, c, base+"/api/login", "", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	var res struct{ Token string }
	if err := json.Unmarshal(resp.body, &res); err != nil || res.Token == "" {
		return "", fmt.Errorf("login %s: status %d", name, resp.StatusCode)
	}
	return res.Token, nil
}

// loadDemo books the demo portfolio (three accounts, 20 transactions).
func loadDemo(ctx context.Context, c *http.Client, base, token string) error {
	resp, err := post(ctx, c, base+"/portfolio/demo", token, "application/x-www-form-urlencoded", nil)
	if err != nil {
		return err
	}
	if flash := resp.flash(); !strings.HasPrefix(flash, "Loaded the demo") {
		return fmt.Errorf("demo portfolio: status %d %q", resp.StatusCode, flash)
	}
	return nil
}

// importCSV imports a transaction CSV through the portfolio page's form and
// returns the page's message.
func importCSV(ctx context.Context, c *http.Client, base, token string, csv []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "bench.csv")
	if err != nil {
		return "", err
	}
	_, _ = fw.Write(csv)
	if err := mw.Close(); err != nil {
		return "", err
	}
	resp, err := post(ctx, c, base+"/portfolio/import", token, mw.FormDataContentType(), &body)
	if err != nil {
		return "", err
	}
	flash := resp.flash()
	if !strings.HasPrefix(flash, "Imported") {
		return "", fmt.Errorf("import: status %d %q", resp.StatusCode, flash)
	}
	return flash, nil
}

type response struct {
	*http.Response
	body []byte
}

// flash is the message a form's redirect carries: in the dashboard's
// flash cookie (base64 JSON, then its signature, which only the server
// needs to check), or in older versions the redirect's flash parameter.
func (r response) flash() string {
	for _, ck := range r.Cookies() {
		if ck.Name != "finkit_flash" {
			continue
		}
		payload, _, _ := strings.Cut(ck.Value, ".")
		b, err := base64.RawURLEncoding.DecodeString(payload)
		var fl struct {
			Text string `json:"t"`
		}
		if err == nil && json.Unmarshal(b, &fl) == nil {
			return fl.Text
		}
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		return ""
	}
	return loc.Query().Get("flash")
}

func post(ctx context.Context, c *http.Client, to, token, ctype string, body io.Reader) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, body)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp, b}, err
}

// benchCSV generates n transactions, one a day over the years before now,
// in the demo's broker (USD stocks) and crypto accounts, priced at the
// simulator's daily closes (the history the dashboard values them with):
// two opening deposits, then buys, sells of what earlier rows bought,
// dividends on holdings and monthly-ish deposits. It is the same file for
// the same n and now.
func benchCSV(ctx context.Context, n int, years int, now time.Time) ([]byte, error) {
	if n < 2 {
		return nil, errors.New("at least 2 transactions")
	}
	start := now.AddDate(-years, 0, 1).Truncate(24 * time.Hour)
	src, err := sim.New(sim.Default("sim-history"))
	if err != nil {
		return nil, err
	}
	stocks := []string{"AAPL", "MSFT", "NVDA", "SPY"}
	coins := []string{"BTC-USD", "ETH-USD"}
	bars := map[string][]marketdata.Bar{}
	for _, sym := range append(append([]string{}, stocks...), coins...) {
		h, err := src.History(ctx, sym, marketdata.HistoryRequest{Start: start.AddDate(0, 0, -7), End: now, Interval: marketdata.Daily})
		if err != nil {
			return nil, fmt.Errorf("history %s: %w", sym, err)
		}
		if len(h.Bars) == 0 {
			return nil, fmt.Errorf("no history for %s", sym)
		}
		bars[sym] = h.Bars
	}
	closeAt := func(sym string, t time.Time) float64 {
		b := bars[sym]
		i := sort.Search(len(b), func(i int) bool { return b[i].Time.After(t) })
		return b[max(i-1, 0)].Close
	}
	var out bytes.Buffer
	out.WriteString("date,account,kind,symbol,quantity,price,fee,tax,currency,fx_rate,amount,note\n")
	row := func(t time.Time, acct, kind, sym, qty, price, fee, amount string, i int) {
		fmt.Fprintf(&out, "%s,%s,%s,%s,%s,%s,%s,,,,%s,bench %d\n", t.Format(time.DateOnly), acct, kind, sym, qty, price, fee, amount, i)
	}
	row(start, "broker", "deposit", "", "", "", "", "3000000", 0)
	row(start, "crypto", "deposit", "", "", "", "", "200000", 1)
	held := map[string]int{} // shares, or thousandths of a coin
	r := rand.New(rand.NewPCG(1, 2))
	days := int(now.Sub(start).Hours() / 24)
	for i := 2; i < n; i++ {
		t := start.AddDate(0, 0, i*days/n)
		sym := stocks[r.IntN(len(stocks))]
		price := fmt.Sprintf("%.2f", closeAt(sym, t))
		switch x := r.Float64(); {
		case x < 0.20 && held[sym] > 0: // sell part of a holding
			q := 1 + r.IntN(held[sym])
			held[sym] -= q
			row(t, "broker", "sell", sym, fmt.Sprint(q), price, "1", "", i)
		case x < 0.28 && held[sym] > 0:
			row(t, "broker", "dividend", sym, fmt.Sprint(held[sym]), "0.25", "", "", i)
		case x < 0.38: // a coin
			coin := coins[r.IntN(len(coins))]
			cp := fmt.Sprintf("%.2f", closeAt(coin, t))
			if held[coin] > 0 && r.IntN(3) == 0 {
				q := 1 + r.IntN(held[coin])
				held[coin] -= q
				row(t, "crypto", "sell", coin, fmt.Sprintf("%.3f", float64(q)/1000), cp, "1", "", i)
				continue
			}
			q := 1 + r.IntN(20)
			held[coin] += q
			row(t, "crypto", "buy", coin, fmt.Sprintf("%.3f", float64(q)/1000), cp, "1", "", i)
		case x < 0.43:
			row(t, "broker", "deposit", "", "", "", "", "1000", i)
		default:
			q := 1 + r.IntN(10)
			held[sym] += q
			row(t, "broker", "buy", sym, fmt.Sprint(q), price, "1", "", i)
		}
	}
	return out.Bytes(), nil
}
