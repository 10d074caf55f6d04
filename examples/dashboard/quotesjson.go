package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/finkit/finkit/marketdata"
)

// quoteJSON encodes /api/quotes. A consensus is encoded once, when the
// Aggregator merges it, and its bytes are reused by every request that
// gets it from the cache: only its age and whether it is being
// revalidated change from one request to the next, and they are written
// between the consensus's two encoded halves. The body is byte for byte
// json.Marshal(newAPIQuotes(res)) (TestQuoteJSONIsMarshal). The zero value
// is ready to use; it is safe for concurrent use.
type quoteJSON struct {
	mu     sync.Mutex
	quotes map[quoteKey]encodedQuote
}

// maxEncodedQuotes bounds the encoded consensuses kept; past it the cache
// starts again (symbols are the callers' choice).
const maxEncodedQuotes = 1024

// quoteKey names one consensus: the Aggregator merges a symbol's quotes
// once per fetch and stamps the time.
type quoteKey struct {
	symbol  string
	fetched time.Time
	price   uint64 // bits of the float
}

// encodedQuote is an apiQuote encoded in two halves: head is everything
// before "age_ms" (up to and including the comma after "fetched"), tail is
// `"sources":[...]}`.
type encodedQuote struct {
	head, tail []byte
}

// body returns the /api/quotes body of res.
func (q *quoteJSON) body(res *marketdata.Result) ([]byte, error) {
	eqs := make([]encodedQuote, len(res.Quotes))
	size := 512 // the rest, unless there are many errors
	for i, m := range res.Quotes {
		eq, err := q.encoded(m)
		if err != nil {
			return nil, err
		}
		eqs[i] = eq
		size += len(eq.head) + len(eq.tail) + 64
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteString(`{"quotes":[`)
	for i, m := range res.Quotes {
		if i > 0 {
			b.WriteByte(',')
		}
		eq := eqs[i]
		b.Write(eq.head)
		b.WriteString(`"age_ms":`)
		if err := appendFloat(b, millis(m.Age)); err != nil {
			return nil, err
		}
		b.WriteString(`,"revalidating":`)
		b.WriteString(strconv.FormatBool(m.Revalidating))
		b.WriteByte(',')
		b.Write(eq.tail)
	}
	b.WriteString(`],`)
	// The rest is small and differs per request.
	rest := newAPIQuotes(&marketdata.Result{Missing: res.Missing, Errors: res.Errors, Fetch: res.Fetch, Elapsed: res.Elapsed})
	rest.Quotes = nil
	enc, err := json.Marshal(struct {
		Missing     []string        `json:"missing"`
		Errors      []apiQuoteError `json:"errors"`
		Fetch       apiFetch        `json:"fetch"`
		Concurrency string          `json:"concurrency"`
		ElapsedMS   float64         `json:"elapsed_ms"`
	}{rest.Missing, rest.Errors, rest.Fetch, rest.Concurrency, rest.ElapsedMS})
	if err != nil {
		return nil, err
	}
	b.Write(enc[1:]) // without its '{'
	return b.Bytes(), nil
}

// encoded returns m's two halves, encoding them on first use.
func (q *quoteJSON) encoded(m marketdata.Merged) (encodedQuote, error) {
	k := quoteKey{symbol: m.Symbol, fetched: m.Fetched, price: math.Float64bits(m.Price)}
	q.mu.Lock()
	eq, ok := q.quotes[k]
	q.mu.Unlock()
	if ok {
		return eq, nil
	}
	eq, err := encodeQuote(m)
	if err != nil {
		return encodedQuote{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.quotes == nil || len(q.quotes) >= maxEncodedQuotes {
		q.quotes = map[quoteKey]encodedQuote{}
	}
	q.quotes[k] = eq
	return eq, nil
}

// encodeQuote encodes apiQuote of m in two halves around its per-request
// fields (age_ms, revalidating).
func encodeQuote(m marketdata.Merged) (encodedQuote, error) {
	out := newAPIQuotes(&marketdata.Result{Quotes: []marketdata.Merged{m}})
	q := out.Quotes[0]
	head, err := json.Marshal(apiQuoteHead{q.Symbol, q.Price, q.Currency, q.Confidence, q.Trusted, q.Reason, q.Agreeing,
		q.Independent, q.SpreadPct, q.Stale, q.Time, q.Fetched})
	if err != nil {
		return encodedQuote{}, err
	}
	tail, err := json.Marshal(struct {
		Sources []apiSource `json:"sources"`
	}{q.Sources})
	if err != nil {
		return encodedQuote{}, err
	}
	head[len(head)-1] = ',' // the object goes on
	return encodedQuote{head: head, tail: tail[1:]}, nil
}

// apiQuoteHead is apiQuote's fields before age_ms, in its order, with its
// names.
type apiQuoteHead struct {
	Symbol      string    `json:"symbol"`
	Price       string    `json:"price"`
	Currency    string    `json:"currency"`
	Confidence  string    `json:"confidence"`
	Trusted     bool      `json:"trusted"`
	Reason      string    `json:"reason,omitempty"`
	Agreeing    int       `json:"agreeing"`
	Independent int       `json:"independent"`
	SpreadPct   string    `json:"spread_pct"`
	Stale       bool      `json:"stale"`
	Time        time.Time `json:"time"`
	Fetched     time.Time `json:"fetched"`
}

// appendFloat writes f as encoding/json does.
func appendFloat(b *bytes.Buffer, f float64) error {
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) || math.IsNaN(f) || math.IsInf(f, 0) {
		enc, err := json.Marshal(f) // its exponent form, or its error
		b.Write(enc)
		return err
	}
	b.Write(strconv.AppendFloat(b.AvailableBuffer(), f, 'f', -1, 64))
	return nil
}
