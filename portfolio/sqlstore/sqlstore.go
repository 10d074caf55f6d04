package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
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

// Store is a portfolio.Shelf on a *sql.DB: as a portfolio.Store it is the
// default book (owner ""), and Book opens the book of another owner. Every
// query names its owner (indexed), so one owner's Store never reads or
// writes another's rows. It is safe for concurrent use. Close releases
// its prepared statement; the *sql.DB stays the caller's.
type Store struct {
	db     *sql.DB
	opts   Options
	writer *sqlmigrate.Writer
	owner  string

	// revision is Revision's query, prepared once: it is read on every
	// request the dashboard's cache serves. Books share it.
	revision *sql.Stmt

	// tableLock makes Update lock the tables on PostgreSQL, as it did
	// before books had locks of their own: the benchmarks' baseline.
	tableLock bool
}

var (
	_ portfolio.Store      = (*Store)(nil)
	_ portfolio.Shelf      = (*Store)(nil)
	_ portfolio.StateStore = (*Store)(nil)
)

// New returns the store on db, as the default book, after applying any
// pending migrations.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	s := &Store{db: db, opts: opts}
	s.writer = sqlmigrate.NewWriter(db, s.dialect())
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	var err error
	s.revision, err = db.PrepareContext(ctx, s.q(`SELECT CAST(COALESCE(SUM(rev), 0) AS BIGINT) FROM portfolio_revisions WHERE owner IN (?, '')`))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: prepare: %w", err)
	}
	return s, nil
}

// Close releases the prepared statement of the Store New returned and of
// every book opened from it; their reads of the revision fail afterwards.
// Calling it again does nothing.
func (s *Store) Close() error {
	return s.revision.Close()
}

// Book returns the Store of owner's books in the same database.
func (s *Store) Book(owner string) portfolio.Store {
	b := *s
	b.owner = owner
	return &b
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

// begin starts a write transaction (sqlmigrate.BeginWrite: on SQLite it
// holds the database's write lock from its first statement).
func (s *Store) begin(ctx context.Context) (*sqlmigrate.Tx, error) {
	if err := portfolio.CheckOwner(s.owner); err != nil {
		return nil, err
	}
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return tx, nil
}

// beginBook starts a write transaction holding the write lock of the
// book from its first statement: Update reads the book (the stored ids,
// whether an account has transactions) and then writes what it decided,
// so no other write of the book may come in between. On SQLite that is
// the database's write lock. On PostgreSQL it is a transaction-level
// advisory lock keyed by the owner (bookLockKey): writers of one book
// queue on it, in every process on the database, and writers of
// different books do not wait for each other; they only share the
// transactions' sequence, which hands out numbers without a lock.
func (s *Store) beginBook(ctx context.Context) (*sqlmigrate.Tx, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	if s.dialect() == sqlmigrate.Postgres {
		// The transaction is read committed (BeginWrite), whatever the
		// database's default: each statement after the lock sees the
		// writes it waited for. (A repeatable-read transaction would keep
		// the snapshot the locking SELECT took before its wait.)
		if s.tableLock {
			err = tx.LockTables(ctx, "portfolio_transactions", "portfolio_accounts")
		} else {
			_, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, bookLockKey(s.owner))
		}
	}
	if err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("sqlstore: lock the book: %w", err)
	}
	return tx, nil
}

// bookLockKey is the PostgreSQL advisory lock key of owner's book: FNV-1a
// of the owner with the store's prefix, the same in every process. Two
// owners whose keys collide only wait for each other.
func bookLockKey(owner string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("portfolio/sqlstore book:"))
	_, _ = h.Write([]byte(owner))
	return int64(h.Sum64())
}

// migrate applies each embedded migration not yet recorded, each in its own
// transaction.
func (s *Store) migrate(ctx context.Context) error {
	opts := sqlmigrate.Options{Dir: "migrations", Table: "portfolio_schema_migrations", Dialect: s.dialect()}
	if s.dialect() == sqlmigrate.Postgres {
		opts.Expand = func(body string) string { return strings.ReplaceAll(body, "INSTR(", "STRPOS(") }
	} else {
		// The transactions' sequence exists on PostgreSQL only (0005).
		opts.Expand = func(body string) string {
			if strings.Contains(body, txSequence) {
				return "SELECT 1"
			}
			return body
		}
	}
	return sqlmigrate.Apply(ctx, s.db, migrations, opts)
}

// SaveAccount implements portfolio.Store: Update with a change of this
// one account.
func (s *Store) SaveAccount(ctx context.Context, a portfolio.Account) error {
	_, err := s.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Accounts: []portfolio.Account{a}}, nil
	})
	return err
}

// saveAccounts inserts or replaces the accounts of a prepared change;
// a new account gets the book's next account number (under the book's
// lock), which orders the book's accounts.
func (s *Store) saveAccounts(ctx context.Context, tx *sqlmigrate.Tx, accounts []portfolio.Account) error {
	for _, a := range accounts {
		a, err := portfolio.NormalizeAccount(a)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE portfolio_accounts SET name = ?, kind = ?, currency = ?, cost_method = ?, allow_short = ?, allow_margin = ? WHERE owner = ? AND id = ?`),
			a.Name, string(a.Kind), a.Currency, string(a.CostMethod), boolInt(a.AllowShort), boolInt(a.AllowMargin), s.owner, a.ID)
		if err != nil {
			return fmt.Errorf("sqlstore: save account: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			continue
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(seq), 0) FROM portfolio_accounts WHERE owner = ?`), s.owner).Scan(&seq); err != nil {
			return fmt.Errorf("sqlstore: save account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portfolio_accounts (owner, id, seq, name, kind, currency, cost_method, allow_short, allow_margin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			s.owner, a.ID, seq+1, a.Name, string(a.Kind), a.Currency, string(a.CostMethod), boolInt(a.AllowShort), boolInt(a.AllowMargin)); err != nil {
			return fmt.Errorf("sqlstore: save account: %w", err)
		}
	}
	return nil
}

// bump increments the book's revision inside tx, the transaction of the
// write.
func (s *Store) bump(ctx context.Context, tx *sqlmigrate.Tx) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portfolio_revisions (owner, rev) VALUES (?, 1)
ON CONFLICT (owner) DO UPDATE SET rev = portfolio_revisions.rev + 1`), s.owner); err != nil {
		return fmt.Errorf("sqlstore: bump revision: %w", err)
	}
	return nil
}

// Revision implements portfolio.Store: the book's and the default book's
// counters, read by primary key.
func (s *Store) Revision(ctx context.Context) (uint64, error) {
	if err := portfolio.CheckOwner(s.owner); err != nil {
		return 0, err
	}
	var rev int64
	if err := s.revision.QueryRowContext(ctx, s.owner).Scan(&rev); err != nil {
		return 0, fmt.Errorf("sqlstore: revision: %w", err)
	}
	return uint64(rev), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Accounts implements portfolio.Store.
func (s *Store) Accounts(ctx context.Context) ([]portfolio.Account, error) {
	if err := portfolio.CheckOwner(s.owner); err != nil {
		return nil, err
	}
	return s.accounts(ctx, s.db)
}

// querier is a *sql.DB or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) accounts(ctx context.Context, db querier) ([]portfolio.Account, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT id, name, kind, currency, cost_method, allow_short, allow_margin FROM portfolio_accounts WHERE owner = ? ORDER BY seq`), s.owner)
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
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portfolio_stocks (owner, symbol, name, exchange, currency, class) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (owner, symbol) DO UPDATE SET name = excluded.name, exchange = excluded.exchange, currency = excluded.currency, class = excluded.class`),
		s.owner, st.Symbol, st.Name, st.Exchange, st.Currency, string(st.Class)); err != nil {
		return fmt.Errorf("sqlstore: save stock: %w", err)
	}
	if err := s.bump(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: save stock: %w", err)
	}
	return nil
}

// Stocks implements portfolio.Store.
func (s *Store) Stocks(ctx context.Context) ([]portfolio.Stock, error) {
	if err := portfolio.CheckOwner(s.owner); err != nil {
		return nil, err
	}
	return s.stocks(ctx, s.db)
}

// stocks reads the book's instruments and those of the default book it
// has not replaced.
func (s *Store) stocks(ctx context.Context, db querier) ([]portfolio.Stock, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT symbol, name, exchange, currency, class FROM portfolio_stocks WHERE owner = ?
UNION ALL
SELECT symbol, name, exchange, currency, class FROM portfolio_stocks d WHERE d.owner = '' AND ? <> ''
  AND NOT EXISTS (SELECT 1 FROM portfolio_stocks o WHERE o.owner = ? AND o.symbol = d.symbol)
ORDER BY 1`), s.owner, s.owner, s.owner)
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

// Update implements portfolio.Store: change sees the book read inside the
// write transaction that then stores the change (portfolio.Books.Prepare),
// rolled back on any error.
func (s *Store) Update(ctx context.Context, change func(portfolio.Books) (portfolio.Change, error)) (int, error) {
	// The book's lock: no transaction may be added between the check
	// that an account has none and its redefinition, nor an id between
	// the check that it is new and its insert.
	dbtx, err := s.beginBook(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = dbtx.Rollback() }()
	var b portfolio.Books
	if b.Accounts, err = s.accounts(ctx, dbtx); err != nil {
		return 0, err
	}
	if b.Stocks, err = s.stocks(ctx, dbtx); err != nil {
		return 0, err
	}
	if b.Transactions, err = s.transactions(ctx, dbtx); err != nil {
		return 0, err
	}
	ch, err := change(b)
	if err != nil {
		return 0, err
	}
	fresh, err := b.Prepare(ch)
	if err != nil {
		return 0, err
	}
	if len(ch.Accounts)+len(fresh)+len(ch.Replace)+len(ch.Delete) == 0 {
		return 0, nil
	}
	if err := s.saveAccounts(ctx, dbtx, ch.Accounts); err != nil {
		return 0, err
	}
	if err := s.remove(ctx, dbtx, ch); err != nil {
		return 0, err
	}
	if err := s.bump(ctx, dbtx); err != nil {
		return 0, err
	}
	// Replaced transactions are stored anew, after the others of their
	// time, as Books.Apply orders them.
	txs := append(slices.Clip(ch.Replace), fresh...)
	seqs, err := s.nextSeqs(ctx, dbtx, len(txs))
	if err != nil {
		return 0, err
	}
	if err := s.insert(ctx, dbtx, seqs, txs); err != nil {
		return 0, err
	}
	if err := dbtx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlstore: %w", err)
	}
	return len(fresh), nil
}

// remove deletes the replaced and deleted transactions of ch.
func (s *Store) remove(ctx context.Context, dbtx *sqlmigrate.Tx, ch portfolio.Change) error {
	ids := slices.Clone(ch.Delete)
	for _, t := range ch.Replace {
		ids = append(ids, t.ID)
	}
	for part := range slices.Chunk(ids, lookupChunk) {
		args := []any{s.owner}
		for _, id := range part {
			args = append(args, id)
		}
		if _, err := dbtx.ExecContext(ctx, s.q(`DELETE FROM portfolio_transactions WHERE owner = ? AND id IN (`+placeholders(len(part))+`)`), args...); err != nil {
			return fmt.Errorf("sqlstore: delete transactions: %w", err)
		}
	}
	return nil
}

// txSequence is the PostgreSQL sequence of the transactions' numbers.
const txSequence = "portfolio_transactions_seq"

// nextSeqs returns n new sequence numbers for transactions, ascending and
// above every number stored in the book: on SQLite MAX(seq) + 1 onwards,
// under the database's write lock; on PostgreSQL from the sequence (a
// later caller always gets higher numbers, and the book's lock orders its
// writers).
func (s *Store) nextSeqs(ctx context.Context, dbtx *sqlmigrate.Tx, n int) ([]int64, error) {
	seqs := make([]int64, 0, n)
	if n == 0 {
		return seqs, nil
	}
	if s.dialect() != sqlmigrate.Postgres {
		var last int64
		if err := dbtx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM portfolio_transactions`).Scan(&last); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		for i := range n {
			seqs = append(seqs, last+1+int64(i))
		}
		return seqs, nil
	}
	rows, err := dbtx.QueryContext(ctx, `SELECT nextval('`+txSequence+`') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sequence: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlstore: sequence: %w", err)
		}
		seqs = append(seqs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: sequence: %w", err)
	}
	if len(seqs) != n {
		return nil, fmt.Errorf("sqlstore: sequence: %d numbers for %d transactions", len(seqs), n)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// insert stores txs with the sequence numbers seqs (one each, in order),
// in multi-row statements.
func (s *Store) insert(ctx context.Context, dbtx *sqlmigrate.Tx, seqs []int64, txs []portfolio.Transaction) error {
	const cols = 16
	row := "(" + placeholders(cols) + ")"
	i := 0
	for part := range slices.Chunk(txs, insertChunk) {
		var q strings.Builder
		q.WriteString(`INSERT INTO portfolio_transactions (seq, owner, ` + txColumns + `) VALUES `)
		args := make([]any, 0, len(part)*cols)
		for j, t := range part {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
			args = append(args, seqs[i], s.owner, t.ID, t.Account, string(t.Kind), t.Time.UnixNano(), t.Time.Format(time.RFC3339Nano),
				t.Symbol, num(t.Quantity), num(t.Price), num(t.Fee), num(t.Tax), num(t.Amount), t.Currency, num(t.FXRate), t.Note)
			i++
		}
		if _, err := dbtx.ExecContext(ctx, s.q(q.String()), args...); err != nil {
			return fmt.Errorf("sqlstore: add transactions: %w", err)
		}
	}
	return nil
}

// Batch sizes: ids per DELETE and rows per INSERT (16 parameters a row
// stays far below SQLite's and PostgreSQL's parameter limits).
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
	if err := portfolio.CheckOwner(s.owner); err != nil {
		return nil, err
	}
	return s.transactions(ctx, s.db)
}

func (s *Store) transactions(ctx context.Context, db querier) ([]portfolio.Transaction, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT `+txColumns+` FROM portfolio_transactions WHERE owner = ? ORDER BY time_unix, seq`), s.owner)
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

// SaveState implements portfolio.StateStore.
func (s *Store) SaveState(ctx context.Context, name string, data []byte) error {
	if err := portfolio.CheckState(name, data); err != nil {
		return err
	}
	if err := portfolio.CheckOwner(s.owner); err != nil {
		return err
	}
	var err error
	if len(data) == 0 {
		_, err = s.db.ExecContext(ctx, s.q(`DELETE FROM portfolio_book_state WHERE owner = ? AND name = ?`), s.owner, name)
	} else {
		_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO portfolio_book_state (owner, name, data) VALUES (?, ?, ?)
ON CONFLICT (owner, name) DO UPDATE SET data = excluded.data`), s.owner, name, string(data))
	}
	if err != nil {
		return fmt.Errorf("sqlstore: save state: %w", err)
	}
	return nil
}

// UpdateState implements portfolio.StateStore: the record is read and
// written in one write transaction that holds it (SQLite's write lock; on
// PostgreSQL the row's lock, taken on a placeholder row when there is none
// yet, which the transaction replaces or removes).
func (s *Store) UpdateState(ctx context.Context, name string, change func([]byte) ([]byte, error)) error {
	if err := portfolio.CheckState(name, nil); err != nil {
		return err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if s.dialect() == sqlmigrate.Postgres {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portfolio_book_state (owner, name, data) VALUES (?, ?, '') ON CONFLICT (owner, name) DO NOTHING`), s.owner, name); err != nil {
			return fmt.Errorf("sqlstore: update state: %w", err)
		}
	}
	var data string
	err = tx.QueryRowContext(ctx, s.q(`SELECT data FROM portfolio_book_state WHERE owner = ? AND name = ?`+s.dialect().ForUpdate()), s.owner, name).Scan(&data)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: update state: %w", err)
	}
	var current []byte
	if data != "" {
		current = []byte(data)
	}
	next, err := change(current)
	if err != nil {
		return err
	}
	if err := portfolio.CheckState(name, next); err != nil {
		return err
	}
	if len(next) == 0 {
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM portfolio_book_state WHERE owner = ? AND name = ?`), s.owner, name)
	} else {
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO portfolio_book_state (owner, name, data) VALUES (?, ?, ?)
ON CONFLICT (owner, name) DO UPDATE SET data = excluded.data`), s.owner, name, string(next))
	}
	if err != nil {
		return fmt.Errorf("sqlstore: update state: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: update state: %w", err)
	}
	return nil
}

// State implements portfolio.StateStore.
func (s *Store) State(ctx context.Context, name string) ([]byte, error) {
	if err := portfolio.CheckState(name, nil); err != nil {
		return nil, err
	}
	if err := portfolio.CheckOwner(s.owner); err != nil {
		return nil, err
	}
	var data string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT data FROM portfolio_book_state WHERE owner = ? AND name = ?`), s.owner, name).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: state %q", portfolio.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: state: %w", err)
	}
	return []byte(data), nil
}
