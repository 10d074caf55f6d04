package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Placeholder is the bind-parameter style of the database driver.
type Placeholder int

// Placeholder styles.
const (
	Question Placeholder = iota // ? (SQLite, MySQL)
	Dollar                      // $1, $2, … (PostgreSQL)
)

// Options configures a Store.
type Options struct {
	Placeholder Placeholder
}

// Store is a portfolio.Store on a *sql.DB. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	opts   Options
	writer *sqlmigrate.Writer
}

var _ portfolio.Store = (*Store)(nil)

// New returns a store on db after applying any pending migrations.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	s := &Store{db: db, opts: opts}
	s.writer = sqlmigrate.NewWriter(db, s.dialect())
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return s, nil
}

// q rewrites ? placeholders for the configured style.
func (s *Store) q(query string) string {
	if s.opts.Placeholder != Dollar {
		return query
	}
	return sqlmigrate.DollarPlaceholders(query)
}

func (s *Store) dialect() sqlmigrate.Dialect {
	if s.opts.Placeholder == Dollar {
		return sqlmigrate.Postgres
	}
	return sqlmigrate.SQLite
}

// begin starts a write transaction holding the write lock of table from its
// first statement (sqlmigrate.BeginWrite; on PostgreSQL locks on tables):
// the stores' transactions read the next sequence number and the stored ids
// before they insert, which on SQLite could not wait for the write lock and
// on PostgreSQL would let two writers take one number.
func (s *Store) begin(ctx context.Context, tables ...string) (*sqlmigrate.Tx, error) {
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := tx.LockTables(ctx, tables...); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// migrate applies each embedded migration not yet recorded, each in its own
// transaction.
func (s *Store) migrate(ctx context.Context) error {
	return sqlmigrate.Apply(ctx, s.db, migrations, sqlmigrate.Options{Dir: "migrations", Table: "portfolio_schema_migrations", Dialect: s.dialect()})
}

// SaveAccount implements portfolio.Store.
func (s *Store) SaveAccount(ctx context.Context, a portfolio.Account) error {
	l, err := portfolio.NewLedger(a) // validates and fills defaults
	if err != nil {
		return err
	}
	a = l.Accounts()[0]
	// Both tables: no transaction may be added between the check that the
	// account has none and the redefinition.
	tx, err := s.begin(ctx, "portfolio_transactions", "portfolio_accounts")
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.checkRedefinition(ctx, tx, a); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, s.q(`UPDATE portfolio_accounts SET name = ?, kind = ?, currency = ?, cost_method = ?, allow_short = ?, allow_margin = ? WHERE id = ?`),
		a.Name, string(a.Kind), a.Currency, string(a.CostMethod), boolInt(a.AllowShort), boolInt(a.AllowMargin), a.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: save account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM portfolio_accounts`).Scan(&seq); err != nil {
			return fmt.Errorf("sqlstore: save account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portfolio_accounts (id, seq, name, kind, currency, cost_method, allow_short, allow_margin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, seq+1, a.Name, string(a.Kind), a.Currency, string(a.CostMethod), boolInt(a.AllowShort), boolInt(a.AllowMargin)); err != nil {
			return fmt.Errorf("sqlstore: save account: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: save account: %w", err)
	}
	return nil
}

// checkRedefinition fails with portfolio.ErrAccountInUse if a is stored
// with transactions and saving it would redefine it.
func (s *Store) checkRedefinition(ctx context.Context, tx *sqlmigrate.Tx, a portfolio.Account) error {
	var old portfolio.Account
	var method string
	err := tx.QueryRowContext(ctx, s.q(`SELECT currency, cost_method FROM portfolio_accounts WHERE id = ?`), a.ID).Scan(&old.Currency, &method)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlstore: save account: %w", err)
	}
	old.CostMethod = portfolio.CostMethod(method)
	if !portfolio.RedefinesAccount(old, a) {
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM (SELECT 1 FROM portfolio_transactions WHERE account = ? LIMIT 1) t`), a.ID).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: save account: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %q", portfolio.ErrAccountInUse, a.ID)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Accounts implements portfolio.Store.
func (s *Store) Accounts(ctx context.Context) ([]portfolio.Account, error) {
	return accounts(ctx, s.db)
}

// querier is a *sql.DB or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func accounts(ctx context.Context, db querier) ([]portfolio.Account, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, name, kind, currency, cost_method, allow_short, allow_margin FROM portfolio_accounts ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: accounts: %w", err)
	}
	defer rows.Close()
	var out []portfolio.Account
	for rows.Next() {
		var a portfolio.Account
		var kind, method string
		var short, margin int
		if err := rows.Scan(&a.ID, &a.Name, &kind, &a.Currency, &method, &short, &margin); err != nil {
			return nil, fmt.Errorf("sqlstore: accounts: %w", err)
		}
		a.Kind, a.CostMethod, a.AllowShort, a.AllowMargin = portfolio.AccountKind(kind), portfolio.CostMethod(method), short != 0, margin != 0
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: accounts: %w", err)
	}
	return out, nil
}

// SaveStock implements portfolio.Store.
func (s *Store) SaveStock(ctx context.Context, st portfolio.Stock) error {
	if st.Symbol == "" {
		return fmt.Errorf("%w: stock without symbol", portfolio.ErrInvalidTransaction)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO portfolio_stocks (symbol, name, exchange, currency, class) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (symbol) DO UPDATE SET name = excluded.name, exchange = excluded.exchange, currency = excluded.currency, class = excluded.class`),
		st.Symbol, st.Name, st.Exchange, st.Currency, string(st.Class))
	if err != nil {
		return fmt.Errorf("sqlstore: save stock: %w", err)
	}
	return nil
}

// Stocks implements portfolio.Store.
func (s *Store) Stocks(ctx context.Context) ([]portfolio.Stock, error) {
	return stocks(ctx, s.db)
}

func stocks(ctx context.Context, db querier) ([]portfolio.Stock, error) {
	rows, err := db.QueryContext(ctx, `SELECT symbol, name, exchange, currency, class FROM portfolio_stocks ORDER BY symbol`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: stocks: %w", err)
	}
	defer rows.Close()
	var out []portfolio.Stock
	for rows.Next() {
		var st portfolio.Stock
		var class string
		if err := rows.Scan(&st.Symbol, &st.Name, &st.Exchange, &st.Currency, &class); err != nil {
			return nil, fmt.Errorf("sqlstore: stocks: %w", err)
		}
		st.Class = portfolio.AssetClass(class)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: stocks: %w", err)
	}
	return out, nil
}

const txColumns = `id, account, kind, time_unix, time_text, symbol, quantity, price, fee, tax, amount, currency, fx_rate, note`

// AddTransactions implements portfolio.Store: one database transaction,
// rolled back on any error.
func (s *Store) AddTransactions(ctx context.Context, txs []portfolio.Transaction) (int, error) {
	if len(txs) == 0 {
		return 0, nil
	}
	return s.addChecked(ctx, func(*sqlmigrate.Tx) ([]portfolio.Transaction, error) { return txs, nil })
}

// AddTransactionsChecked implements portfolio.Store: batch sees the books
// read inside the write transaction that then inserts what it returns.
func (s *Store) AddTransactionsChecked(ctx context.Context, batch func(portfolio.Books) ([]portfolio.Transaction, error)) (int, error) {
	return s.addChecked(ctx, func(dbtx *sqlmigrate.Tx) ([]portfolio.Transaction, error) {
		var b portfolio.Books
		var err error
		if b.Accounts, err = accounts(ctx, dbtx); err != nil {
			return nil, err
		}
		if b.Stocks, err = stocks(ctx, dbtx); err != nil {
			return nil, err
		}
		if b.Transactions, err = transactions(ctx, dbtx); err != nil {
			return nil, err
		}
		return batch(b)
	})
}

// addChecked takes the write lock, asks build for the transactions to store
// and stores them in the same database transaction.
func (s *Store) addChecked(ctx context.Context, build func(*sqlmigrate.Tx) ([]portfolio.Transaction, error)) (int, error) {
	dbtx, err := s.begin(ctx, "portfolio_transactions")
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %w", err)
	}
	defer func() { _ = dbtx.Rollback() }()
	txs, err := build(dbtx)
	if err != nil {
		return 0, err
	}
	if len(txs) == 0 {
		return 0, nil
	}
	accounts := make(map[string]bool)
	rows, err := dbtx.QueryContext(ctx, `SELECT id FROM portfolio_accounts`)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore: %w", err)
		}
		accounts[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlstore: %w", err)
	}
	var seq int64
	if err := dbtx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM portfolio_transactions`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlstore: %w", err)
	}
	// Validate and de-duplicate the batch.
	batch := make(map[string]portfolio.Transaction, len(txs))
	var fresh []portfolio.Transaction
	for _, t := range txs {
		if t.ID == "" {
			return 0, fmt.Errorf("%w: transaction without id", portfolio.ErrInvalidTransaction)
		}
		if !accounts[t.Account] {
			return 0, fmt.Errorf("%w: %q", portfolio.ErrUnknownAccount, t.Account)
		}
		if prev, ok := batch[t.ID]; ok {
			if !portfolio.SameTransaction(prev, t) {
				return 0, fmt.Errorf("%w: %q twice with different content", portfolio.ErrDuplicateID, t.ID)
			}
			continue
		}
		batch[t.ID] = t
		fresh = append(fresh, t)
	}
	// Find the ids that are already stored, a few hundred per query.
	stored := make(map[string]portfolio.Transaction)
	for i := 0; i < len(fresh); i += lookupChunk {
		part := fresh[i:min(i+lookupChunk, len(fresh))]
		args := make([]any, len(part))
		for j, t := range part {
			args[j] = t.ID
		}
		rows, err := dbtx.QueryContext(ctx, s.q(`SELECT `+txColumns+` FROM portfolio_transactions WHERE id IN (`+placeholders(len(part))+`)`), args...)
		if err != nil {
			return 0, fmt.Errorf("sqlstore: %w", err)
		}
		for rows.Next() {
			t, err := scanTx(rows)
			if err != nil {
				rows.Close()
				return 0, fmt.Errorf("sqlstore: %w", err)
			}
			stored[t.ID] = t
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("sqlstore: %w", err)
		}
	}
	insert := fresh[:0:0]
	for _, t := range fresh {
		if old, ok := stored[t.ID]; ok {
			if !portfolio.SameTransaction(old, t) {
				return 0, fmt.Errorf("%w: %q is stored with different content", portfolio.ErrDuplicateID, t.ID)
			}
			continue
		}
		insert = append(insert, t)
	}
	// Insert with multi-row statements.
	const cols = 15
	for i := 0; i < len(insert); i += insertChunk {
		part := insert[i:min(i+insertChunk, len(insert))]
		var q strings.Builder
		q.WriteString(`INSERT INTO portfolio_transactions (seq, ` + txColumns + `) VALUES `)
		args := make([]any, 0, len(part)*cols)
		row := "(" + placeholders(cols) + ")"
		for j, t := range part {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
			seq++
			args = append(args, seq, t.ID, t.Account, string(t.Kind), t.Time.UnixNano(), t.Time.Format(time.RFC3339Nano),
				t.Symbol, num(t.Quantity), num(t.Price), num(t.Fee), num(t.Tax), num(t.Amount), t.Currency, num(t.FXRate), t.Note)
		}
		if _, err := dbtx.ExecContext(ctx, s.q(q.String()), args...); err != nil {
			return 0, fmt.Errorf("sqlstore: add transactions: %w", err)
		}
	}
	added := len(insert)
	if err := dbtx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlstore: %w", err)
	}
	return added, nil
}

// Batch sizes: ids per lookup query and rows per INSERT (15 parameters a
// row stays far below SQLite's and PostgreSQL's parameter limits).
const (
	lookupChunk = 500
	insertChunk = 200
)

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func num(d decimal.Decimal) string { return portfolio.FormatDecimal(d) }

type scanner interface{ Scan(dest ...any) error }

func scanTx(r scanner) (portfolio.Transaction, error) {
	var t portfolio.Transaction
	var kind, timeText string
	var unix int64
	var q, p, fee, tax, amt, fx string
	if err := r.Scan(&t.ID, &t.Account, &kind, &unix, &timeText, &t.Symbol, &q, &p, &fee, &tax, &amt, &t.Currency, &fx, &t.Note); err != nil {
		return t, err
	}
	t.Kind = portfolio.TxKind(kind)
	tm, err := time.Parse(time.RFC3339Nano, timeText)
	if err != nil {
		return t, fmt.Errorf("transaction %q: time %q: %w", t.ID, timeText, err)
	}
	if tm.Location() != time.UTC {
		if _, off := tm.Zone(); off == 0 {
			tm = tm.UTC()
		}
	}
	t.Time = tm
	for _, f := range []struct {
		s   string
		dst *decimal.Decimal
	}{{q, &t.Quantity}, {p, &t.Price}, {fee, &t.Fee}, {tax, &t.Tax}, {amt, &t.Amount}, {fx, &t.FXRate}} {
		v, err := decimal.NewFromString(f.s)
		if err != nil {
			return t, fmt.Errorf("transaction %q: bad decimal %q: %w", t.ID, f.s, err)
		}
		*f.dst = v
	}
	return t, nil
}

// Transactions implements portfolio.Store.
func (s *Store) Transactions(ctx context.Context) ([]portfolio.Transaction, error) {
	return transactions(ctx, s.db)
}

func transactions(ctx context.Context, db querier) ([]portfolio.Transaction, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+txColumns+` FROM portfolio_transactions ORDER BY time_unix, seq`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: transactions: %w", err)
	}
	defer rows.Close()
	var out []portfolio.Transaction
	for rows.Next() {
		t, err := scanTx(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: transactions: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: transactions: %w", err)
	}
	return out, nil
}
