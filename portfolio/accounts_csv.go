package portfolio

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// accountColumns are the columns of an accounts file, in WriteAccountsCSV's
// order.
var accountColumns = []string{"id", "name", "kind", "currency", "cost_method", "allow_short", "allow_margin"}

// ReadAccountsCSV reads account definitions — the file WriteAccountsCSV
// writes, so that books exported from one store import into another with
// the same accounts:
//
//	id,name,kind,currency,cost_method,allow_short,allow_margin
//	broker,Brokerage,brokerage,USD,fifo,false,false
//
// id and currency are required; name defaults to the id, kind to brokerage,
// cost_method to fifo, the flags to false. Columns may come in any order.
// Every account is validated as Ledger.AddAccount validates it; the first
// problem is returned as a *ParseError and no accounts. An id given twice
// is an error.
func ReadAccountsCSV(r io.Reader) ([]Account, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{Line: 1, Err: errors.New("empty file: a header row is required")}
	}
	if err != nil {
		return nil, csvReadError(err)
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		known := false
		for _, c := range accountColumns {
			known = known || c == name
		}
		if !known {
			return nil, &ParseError{Line: 1, Column: name, Err: errors.New("unknown column")}
		}
		if _, dup := col[name]; dup {
			return nil, &ParseError{Line: 1, Column: name, Err: errors.New("duplicate column")}
		}
		col[name] = i
	}
	for _, c := range []string{"id", "currency"} {
		if _, ok := col[c]; !ok {
			return nil, &ParseError{Line: 1, Column: c, Err: errors.New("required column missing")}
		}
	}
	var out []Account
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, csvReadError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(header) {
			return nil, &ParseError{Line: line, Err: fmt.Errorf("%d fields, header has %d", len(rec), len(header))}
		}
		a, err := parseAccountRow(rec, col, line)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[a.ID]; dup {
			return nil, &ParseError{Line: line, Column: "id", Err: fmt.Errorf("account %q is already defined on line %d", a.ID, first)}
		}
		seen[a.ID] = line
		out = append(out, a)
	}
}

func parseAccountRow(rec []string, col map[string]int, line int) (Account, error) {
	cell := func(name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	flag := func(name string) (bool, error) {
		s := cell(name)
		if s == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, &ParseError{Line: line, Column: name, Err: fmt.Errorf("%q is not true or false", s)}
		}
		return b, nil
	}
	a := Account{
		ID: unneutralise(cell("id")), Name: unneutralise(cell("name")), Kind: AccountKind(strings.ToLower(cell("kind"))),
		Currency: strings.ToUpper(cell("currency")), CostMethod: CostMethod(strings.ToLower(cell("cost_method"))),
	}
	var err error
	if a.AllowShort, err = flag("allow_short"); err != nil {
		return a, err
	}
	if a.AllowMargin, err = flag("allow_margin"); err != nil {
		return a, err
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	a, err = NormalizeAccount(a)
	if err != nil {
		return a, &ParseError{Line: line, Err: err}
	}
	return a, nil
}

// WriteAccountsCSV writes accounts in the form ReadAccountsCSV reads. A
// id or name a spreadsheet would run as a formula is neutralised as WriteCSV
// neutralises text cells, and read back exactly.
func WriteAccountsCSV(w io.Writer, accounts []Account) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(accountColumns); err != nil {
		return err
	}
	for _, a := range accounts {
		a, err := NormalizeAccount(a)
		if err != nil {
			return err
		}
		rec := []string{neutralise(a.ID), neutralise(a.Name), string(a.Kind), a.Currency, string(a.CostMethod),
			strconv.FormatBool(a.AllowShort), strconv.FormatBool(a.AllowMargin)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
