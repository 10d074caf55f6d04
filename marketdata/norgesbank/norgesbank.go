package norgesbank

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/internal/httpx"
)

// DefaultBaseURL is the API root used when Options.BaseURL is empty.
const DefaultBaseURL = "https://data.norges-bank.no/api/data"

// Options configure a Client.
type Options struct {
	BaseURL    string
	HTTPClient *http.Client
	UserAgent  string
	MaxBytes   int64
}

// Client is a Norges Bank client. It implements marketdata.BatchProvider
// (pair symbols), RateProvider, HistoryProvider and Supporter.
type Client struct {
	base string
	http *httpx.Client
	osl  *time.Location
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	base, err := httpx.BaseURL("norgesbank", opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	osl, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		osl = time.FixedZone("CET", 3600)
	}
	return &Client{base: base, http: httpx.New("norgesbank", opts.HTTPClient, opts.UserAgent, opts.MaxBytes), osl: osl}, nil
}

// Name returns "norgesbank".
func (c *Client) Name() string { return "norgesbank" }

// Supports reports whether symbol is a currency pair.
func (c *Client) Supports(symbol string) bool {
	s, err := marketdata.ParseSymbol(symbol)
	return err == nil && s.Kind == marketdata.KindFX
}

// Obs is one observation: NOK per one unit of Currency on Date.
type Obs struct {
	Date     time.Time
	Currency string
	NOK      float64
}

// Parse reads an EXR csvdata body into observations of NOK per unit,
// applying UNIT_MULT. Rows quoted in another currency than NOK, and index
// series (I44, TWI), are skipped.
func Parse(body []byte) ([]Obs, error) {
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	first, _, _ := bytes.Cut(body, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(body))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToUpper(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"BASE_CUR", "QUOTE_CUR", "TIME_PERIOD", "OBS_VALUE"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("no %s column in header %q", need, strings.Join(head, ","))
		}
	}
	um, hasUM := col["UNIT_MULT"]
	var out []Obs
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		get := func(k string) string {
			if i := col[k]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if get("QUOTE_CUR") != "NOK" || get("OBS_VALUE") == "" || get("OBS_VALUE") == "NaN" {
			continue
		}
		cur := get("BASE_CUR")
		if !marketdata.IsCurrency(cur) {
			continue // indices such as I44 (trade-weighted krone) and TWI
		}
		d, err := time.Parse(time.DateOnly, get("TIME_PERIOD"))
		if err != nil {
			return nil, fmt.Errorf("line %d: date %q", line, get("TIME_PERIOD"))
		}
		v, err := strconv.ParseFloat(strings.Replace(get("OBS_VALUE"), ",", ".", 1), 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("line %d: value %q", line, get("OBS_VALUE"))
		}
		mult := 0
		if hasUM && um < len(rec) && strings.TrimSpace(rec[um]) != "" {
			if mult, err = strconv.Atoi(strings.TrimSpace(rec[um])); err != nil || mult < 0 || mult > 9 {
				return nil, fmt.Errorf("line %d: UNIT_MULT %q", line, rec[um])
			}
		}
		nok := v / math.Pow10(mult)
		if !marketdata.ValidRate(nok) {
			return nil, fmt.Errorf("line %d: value %q × 10^-%d outside the plausible range", line, get("OBS_VALUE"), mult)
		}
		out = append(out, Obs{Date: d, Currency: cur, NOK: nok})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no observations")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out, nil
}

// fetch gets observations for the series key, e.g. "B..NOK.SP".
func (c *Client) fetch(ctx context.Context, label, key string, q url.Values) ([]Obs, time.Duration, error) {
	start := time.Now()
	q.Set("format", "csvdata")
	resp, err := c.http.Get(ctx, label, c.base+"/EXR/"+key+"?"+q.Encode(), "text/csv")
	if err != nil {
		return nil, 0, err
	}
	if err := c.http.Check(resp, label); err != nil {
		return nil, 0, err
	}
	if httpx.LooksLikeHTML(resp.Body) {
		return nil, 0, c.http.Bad(label, "HTML instead of CSV", nil)
	}
	if t := strings.TrimSpace(string(resp.Body)); t == "" || strings.EqualFold(t, "NoRecordsFound") || strings.EqualFold(t, "No Results Found") {
		return nil, 0, c.http.NotFound(label, "no observations")
	}
	obs, err := Parse(resp.Body)
	if err != nil {
		return nil, 0, c.http.Bad(label, "", err)
	}
	return obs, time.Since(start), nil
}

// latest returns the newest NOK-per-unit value of each currency.
func latest(obs []Obs) map[string]Obs {
	m := map[string]Obs{"NOK": {Currency: "NOK", NOK: 1}}
	for _, o := range obs {
		if cur, ok := m[o.Currency]; !ok || !o.Date.Before(cur.Date) {
			m[o.Currency] = o
		}
	}
	return m
}

// stamp is the publication time of a reference date (about 16:00 Oslo).
func (c *Client) stamp(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 16, 0, 0, 0, c.osl).UTC()
}

// cross returns the rate from → to through NOK, stamped with the older
// leg's date (a cross rate is only as recent as its older leg; NOK itself
// has no date).
func cross(m map[string]Obs, from, to string) (float64, time.Time, bool) {
	f, okf := m[from]
	t, okt := m[to]
	if !okf || !okt {
		return 0, time.Time{}, false
	}
	d := f.Date
	if d.IsZero() || (!t.Date.IsZero() && t.Date.Before(d)) {
		d = t.Date
	}
	r := f.NOK / t.NOK
	return r, d, marketdata.ValidRate(r)
}

// Rate returns the latest rate from → to, through NOK.
func (c *Client) Rate(ctx context.Context, from, to string) (marketdata.Rate, error) {
	pair := from + "/" + to
	if !marketdata.IsCurrency(from) || !marketdata.IsCurrency(to) {
		return marketdata.Rate{}, marketdata.NewError("norgesbank", pair, marketdata.ErrInvalidSymbol, "want ISO 4217 codes")
	}
	obs, lat, err := c.fetch(ctx, pair, "B..NOK.SP", url.Values{"lastNObservations": {"1"}})
	if err != nil {
		return marketdata.Rate{}, err
	}
	r, d, ok := cross(latest(obs), from, to)
	if !ok {
		return marketdata.Rate{}, c.http.NotFound(pair, "no Norges Bank rate")
	}
	return marketdata.Rate{From: from, To: to, Rate: r, Time: c.stamp(d), Provider: "norgesbank", Latency: lat}, nil
}

// Quote returns the latest rate of a pair symbol.
func (c *Client) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	return c.http.OneQuote(ctx, symbol, c.Quotes, "no Norges Bank rate")
}

// Quotes prices pair symbols from one request.
func (c *Client) Quotes(ctx context.Context, symbols []string) (map[string]marketdata.Quote, error) {
	parsed, err := c.http.FXSymbols(symbols...)
	if err != nil {
		return nil, err
	}
	obs, lat, err := c.fetch(ctx, "", "B..NOK.SP", url.Values{"lastNObservations": {"1"}})
	if err != nil {
		return nil, err
	}
	m := latest(obs)
	out := make(map[string]marketdata.Quote, len(symbols))
	for i, p := range parsed {
		if r, d, ok := cross(m, p.Base, p.Quote); ok {
			out[symbols[i]] = marketdata.Quote{Symbol: p.Raw, Price: r, Currency: p.Quote, Time: c.stamp(d), Provider: "norgesbank", Latency: lat}
		}
	}
	return out, nil
}

// History returns daily rates of a pair symbol on the dates both currencies
// have an observation.
func (c *Client) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	ps, err := c.http.FXSymbols(symbol)
	if err != nil {
		return marketdata.History{}, err
	}
	p := ps[0]
	if req.Interval != "" && req.Interval != marketdata.Daily {
		return marketdata.History{}, c.http.Unsupported(p.Raw, "interval "+string(req.Interval))
	}
	end := req.End
	if end.IsZero() {
		end = time.Now()
	}
	start := req.Start
	if start.IsZero() {
		start = end.AddDate(-1, 0, 0)
	}
	var curs []string
	for _, cur := range []string{p.Base, p.Quote} {
		if cur != "NOK" {
			curs = append(curs, cur)
		}
	}
	if len(curs) == 0 {
		return marketdata.History{}, c.http.Unsupported(p.Raw, "NOK/NOK")
	}
	obs, _, err := c.fetch(ctx, p.Raw, "B."+strings.Join(curs, "+")+".NOK.SP", url.Values{
		"startPeriod": {start.UTC().Format(time.DateOnly)}, "endPeriod": {end.UTC().Format(time.DateOnly)}})
	if err != nil {
		return marketdata.History{}, err
	}
	byDay := map[time.Time]map[string]Obs{}
	var days []time.Time
	for _, o := range obs {
		if o.Date.Before(start.UTC().Truncate(24*time.Hour)) || o.Date.After(end) {
			continue
		}
		m, ok := byDay[o.Date]
		if !ok {
			m = map[string]Obs{"NOK": {Currency: "NOK", NOK: 1, Date: o.Date}}
			byDay[o.Date] = m
			days = append(days, o.Date)
		}
		m[o.Currency] = o
	}
	h := marketdata.History{Symbol: p.Raw, Currency: p.Quote, Provider: "norgesbank", Interval: marketdata.Daily}
	for _, d := range days {
		if r, _, ok := cross(byDay[d], p.Base, p.Quote); ok {
			h.Bars = append(h.Bars, marketdata.Bar{Time: d, Open: r, High: r, Low: r, Close: r, AdjClose: r})
		}
	}
	if len(h.Bars) == 0 {
		return h, c.http.NotFound(p.Raw, "no observations in range")
	}
	return h, nil
}
