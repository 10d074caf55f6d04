package portfolio

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// ErrCSV marks a malformed transaction CSV file; the error is a *ParseError
// naming the line and column.
var ErrCSV = errors.New("portfolio: bad CSV")

// ParseError is a CSV problem at a line (1 = the header) and column.
type ParseError struct {
	Line   int
	Column string // column name, or "" for the whole line
	Err    error
}

// Error formats "line 17, column quantity: …".
func (e *ParseError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d, column %s: %v", e.Line, e.Column, e.Err)
}

// Unwrap returns ErrCSV and the cause, so errors.Is works with both.
func (e *ParseError) Unwrap() []error { return []error{ErrCSV, e.Err} }

// CSV columns. The header row is required; columns may come in any order
// and names are case-insensitive. "date", "account" and "kind" are required,
// every other column is optional and an empty cell means zero or "".
//
//	id        transaction id; empty → derived from the row's content (see ReadCSV)
//	date      ISO 8601: 2024-03-01, 2024-03-01T15:04:05Z, 2024-03-01T15:04:05+01:00
//	          (fractional seconds allowed; no zone means UTC)
//	account   account id
//	kind      deposit, withdrawal, buy, sell, dividend, interest, fee, tax,
//	          transfer_in, transfer_out, split
//	symbol    instrument symbol
//	quantity  units; of a split, the new units (2 in 2-for-1)
//	price     price per unit; of a split, the old units (empty: 1)
//	amount    cash amount of cash kinds
//	fee, tax  charges
//	currency  ISO 4217 code; empty = the account currency
//	fx_rate   currency → account currency rate when they differ
//	note      free text
//
// Numbers use a decimal point and no thousands separators ("-1234.50"); no
// exponents.
var csvColumns = []string{"id", "date", "account", "kind", "symbol", "quantity", "price", "amount", "fee", "tax", "currency", "fx_rate", "note"}

const (
	colID = iota
	colDate
	colAccount
	colKind
	colSymbol
	colQuantity
	colPrice
	colAmount
	colFee
	colTax
	colCurrency
	colFX
	colNote
	numCols
)

// maxNumberLen bounds a numeric cell, so a hostile file cannot make the
// parser build enormous numbers.
const maxNumberLen = 64

// ReadCSV parses a transaction file in the documented column format (see
// csvColumns in the source, repeated in the package documentation) and
// returns its transactions in file order. The whole file is checked; the
// first problem is returned as a *ParseError ("line 17, column quantity:
// \"abc\" is not a number") and no transactions.
//
// Rows without an id get "csv-" and 16 hex digits of a SHA-256 over the
// row's normalized content and how many identical rows came before it in the
// file, so importing the same file twice yields the same ids (and a ledger
// or store skips them) while two genuinely identical trades on one day stay
// two transactions.
func ReadCSV(r io.Reader) ([]Transaction, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{Line: 1, Err: errors.New("empty file: a header row is required")}
	}
	if err != nil {
		return nil, csvReadError(err)
	}
	idx := [numCols]int{}
	for i := range idx {
		idx[i] = -1
	}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		c := -1
		for j, known := range csvColumns {
			if name == known {
				c = j
			}
		}
		switch name {
		case "type":
			c = colKind
		case "time":
			c = colDate
		case "fx", "fxrate":
			c = colFX
		}
		if c < 0 {
			return nil, &ParseError{Line: 1, Column: name, Err: errors.New("unknown column")}
		}
		if idx[c] >= 0 {
			return nil, &ParseError{Line: 1, Column: name, Err: errors.New("duplicate column")}
		}
		idx[c] = i
	}
	for _, c := range []int{colDate, colAccount, colKind} {
		if idx[c] < 0 {
			return nil, &ParseError{Line: 1, Column: csvColumns[c], Err: errors.New("required column missing")}
		}
	}
	var txs []Transaction
	seen := make(map[string]int)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvReadError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) != len(header) {
			return nil, &ParseError{Line: line, Err: fmt.Errorf("%d fields, header has %d", len(rec), len(header))}
		}
		tx, err := parseRow(rec, &idx, line)
		if err != nil {
			return nil, err
		}
		if tx.ID == "" {
			h := rowHash(&tx)
			n := seen[h]
			seen[h] = n + 1
			if n > 0 {
				h = rowHashN(h, n)
			}
			tx.ID = "csv-" + h
		}
		txs = append(txs, tx)
	}
	return txs, nil
}

func csvReadError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Line, Err: pe.Err}
	}
	return fmt.Errorf("%w: %w", ErrCSV, err)
}

// formulaStart reports whether s, after any leading apostrophes, begins
// with a character that makes a spreadsheet cell a formula.
func formulaStart(s string) bool {
	s = strings.TrimLeft(s, "'")
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}

// neutralise prefixes an apostrophe to a text cell a spreadsheet would run
// as a formula. Text that already begins with apostrophes before such a
// character gets one more, so unneutralise can tell them apart.
func neutralise(s string) string {
	if formulaStart(s) {
		return "'" + s
	}
	return s
}

// unneutralise removes the apostrophe neutralise added.
func unneutralise(s string) string {
	if strings.HasPrefix(s, "'") && formulaStart(s[1:]) {
		return s[1:]
	}
	return s
}

func parseRow(rec []string, idx *[numCols]int, line int) (Transaction, error) {
	var tx Transaction
	cell := func(c int) string {
		if idx[c] < 0 {
			return ""
		}
		return strings.TrimSpace(rec[idx[c]])
	}
	fail := func(c int, format string, args ...any) error {
		return &ParseError{Line: line, Column: csvColumns[c], Err: fmt.Errorf(format, args...)}
	}
	text := func(c int) string { return unneutralise(cell(c)) }
	tx.ID = text(colID)
	tx.Account = text(colAccount)
	if tx.Account == "" {
		return tx, fail(colAccount, "missing account")
	}
	kind := TxKind(strings.ToLower(cell(colKind)))
	if !validKind(kind) {
		return tx, fail(colKind, "%q is not a transaction kind", cell(colKind))
	}
	tx.Kind = kind
	t, err := parseTime(cell(colDate))
	if err != nil {
		return tx, fail(colDate, "%q is not an ISO 8601 date", cell(colDate))
	}
	tx.Time = t
	tx.Symbol = text(colSymbol)
	for _, f := range []struct {
		col int
		dst *decimal.Decimal
	}{{colQuantity, &tx.Quantity}, {colPrice, &tx.Price}, {colAmount, &tx.Amount}, {colFee, &tx.Fee}, {colTax, &tx.Tax}, {colFX, &tx.FXRate}} {
		s := cell(f.col)
		if s == "" {
			continue
		}
		v, err := parseNumber(s)
		if err != nil {
			return tx, fail(f.col, "%q is not a number", s)
		}
		*f.dst = v
	}
	tx.Currency = strings.ToUpper(cell(colCurrency))
	if tx.Currency != "" && !validCurrency(tx.Currency) {
		return tx, fail(colCurrency, "%q is not a currency code", cell(colCurrency))
	}
	tx.Note = text(colNote)
	return tx, nil
}

func validKind(k TxKind) bool {
	switch k {
	case TxDeposit, TxWithdrawal, TxBuy, TxSell, TxDividend, TxInterest, TxFee, TxTax, TxTransferIn, TxTransferOut, TxSplit:
		return true
	}
	return false
}

// parseNumber accepts [+-]digits[.digits] (or .digits) only.
func parseNumber(s string) (decimal.Decimal, error) {
	if len(s) > maxNumberLen {
		return decimal.Decimal{}, errors.New("too long")
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		case (c == '-' || c == '+') && i == 0:
		default:
			return decimal.Decimal{}, errors.New("not a number")
		}
	}
	if digits == 0 {
		return decimal.Decimal{}, errors.New("not a number")
	}
	return decimal.NewFromString(s)
}

// parseTime accepts a date or an RFC 3339 / ISO 8601 date-time; without a
// zone the time is UTC.
func parseTime(s string) (time.Time, error) {
	if len(s) == 10 {
		return time.Parse(time.DateOnly, s)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a date")
}

// formatTime writes a date for midnight UTC, else RFC 3339 with nanoseconds.
func formatTime(t time.Time) string {
	if t.Location() == time.UTC && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

// rowHash hashes a transaction's normalized content.
func rowHash(tx *Transaction) string {
	h := sha256.New()
	for _, s := range []string{
		tx.Time.UTC().Format(time.RFC3339Nano), tx.Account, string(tx.Kind), tx.Symbol,
		tx.Quantity.String(), tx.Price.String(), tx.Amount.String(), tx.Fee.String(), tx.Tax.String(),
		tx.Currency, tx.FXRate.String(), tx.Note,
	} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// rowHashN distinguishes the n-th identical row.
func rowHashN(h string, n int) string {
	sum := sha256.Sum256([]byte(h + "#" + strconv.Itoa(n)))
	return hex.EncodeToString(sum[:8])
}

// WriteCSV writes txs in the documented column format with every column, so
// ReadCSV gives back the same transactions: ids, times (instant and UTC
// offset), decimals with their exact digits, notes. A text cell (id,
// account, symbol, note) that a spreadsheet would read as a formula, one
// beginning with = + - @ tab or carriage return, is written with a leading
// apostrophe (the OWASP CSV-injection rule), which ReadCSV removes again.
func WriteCSV(w io.Writer, txs []Transaction) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return err
	}
	rec := make([]string, numCols)
	num := func(x decimal.Decimal) string {
		if x.Sign() == 0 && x.Exponent() >= 0 {
			return ""
		}
		return formatDecimal(x)
	}
	for i := range txs {
		tx := &txs[i]
		rec[colID] = neutralise(tx.ID)
		rec[colDate] = formatTime(tx.Time)
		rec[colAccount] = neutralise(tx.Account)
		rec[colKind] = string(tx.Kind)
		rec[colSymbol] = neutralise(tx.Symbol)
		rec[colQuantity] = num(tx.Quantity)
		rec[colPrice] = num(tx.Price)
		rec[colAmount] = num(tx.Amount)
		rec[colFee] = num(tx.Fee)
		rec[colTax] = num(tx.Tax)
		rec[colCurrency] = tx.Currency
		rec[colFX] = num(tx.FXRate)
		rec[colNote] = neutralise(tx.Note)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Import applies the transactions that the ledger does not have yet, as one
// atomic batch, and returns the new ones as booked (currency filled in).
// Transactions without an id get a content-hash id as in ReadCSV. A
// transaction whose id is already applied with the same content is skipped
// (so re-importing a file changes nothing); the same id with different
// content fails with ErrDuplicateID and nothing is applied.
func (l *Ledger) Import(txs []Transaction) (added []Transaction, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	fresh := make([]Transaction, 0, len(txs))
	inBatch := make(map[string]int, len(txs))
	seen := make(map[string]int)
	for _, tx := range txs {
		if tx.ID == "" {
			h := rowHash(&tx)
			n := seen[h]
			seen[h] = n + 1
			if n > 0 {
				h = rowHashN(h, n)
			}
			tx.ID = "csv-" + h
		}
		if i, ok := l.ids.Get(tx.ID, l.txID); ok {
			if !l.sameTx(l.txs.at(i), &tx) {
				return nil, fmt.Errorf("%w: %q was imported before with different content", ErrDuplicateID, tx.ID)
			}
			continue
		}
		if j, ok := inBatch[tx.ID]; ok {
			if !l.sameTx(&fresh[j], &tx) {
				return nil, fmt.Errorf("%w: %q appears twice with different content", ErrDuplicateID, tx.ID)
			}
			continue
		}
		inBatch[tx.ID] = len(fresh)
		fresh = append(fresh, tx)
	}
	if err := l.applyLocked(fresh); err != nil {
		return nil, err
	}
	for i := range fresh {
		j, _ := l.ids.Get(fresh[i].ID, l.txID)
		fresh[i] = *l.txs.at(j)
	}
	return fresh, nil
}

// sameTx compares two transactions by value (currency "" = the account's).
func (l *Ledger) sameTx(a, b *Transaction) bool {
	ccy := func(t *Transaction) string {
		if t.Currency == "" {
			if st := l.accts[t.Account]; st != nil {
				return st.acct.Currency
			}
		}
		return t.Currency
	}
	return a.ID == b.ID && a.Account == b.Account && a.Kind == b.Kind && a.Time.Equal(b.Time) &&
		a.Symbol == b.Symbol && a.Quantity.Equal(b.Quantity) && a.Price.Equal(b.Price) &&
		a.Fee.Equal(b.Fee) && a.Tax.Equal(b.Tax) && a.Amount.Equal(b.Amount) &&
		ccy(a) == ccy(b) && a.FXRate.Equal(b.FXRate) && a.Note == b.Note
}
