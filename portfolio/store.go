package portfolio

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Store persists accounts, instruments and transactions. The ledger is
// rebuilt from them with LoadLedger; stores keep no derived state.
// Implementations: MemStore here and portfolio/sqlstore on database/sql.
type Store interface {
	// SaveAccount inserts or replaces an account. Replacing one that has
	// transactions with another currency or cost method (RedefinesAccount)
	// fails with ErrAccountInUse and changes nothing.
	SaveAccount(ctx context.Context, a Account) error
	// Accounts returns all accounts in the order they were first saved.
	Accounts(ctx context.Context) ([]Account, error)
	// SaveStock inserts or replaces an instrument.
	SaveStock(ctx context.Context, s Stock) error
	// Stocks returns all instruments ordered by symbol.
	Stocks(ctx context.Context) ([]Stock, error)
	// AddTransactions stores txs atomically and returns how many were new.
	// A transaction whose id is already stored with the same content is
	// skipped; the same id with other content fails with ErrDuplicateID,
	// a transaction for an account that is not stored with
	// ErrUnknownAccount, an empty id with ErrInvalidTransaction; on error
	// nothing is stored.
	AddTransactions(ctx context.Context, txs []Transaction) (int, error)
	// AddTransactionsChecked holds the store's write lock, calls batch with
	// the books as stored at that moment and stores what it returns as
	// AddTransactions would, before any other write can come between. If
	// batch fails, its error is returned and nothing is stored.
	// BookTransactions uses it to validate against the current books.
	AddTransactionsChecked(ctx context.Context, batch func(current Books) ([]Transaction, error)) (int, error)
	// Transactions returns every transaction ordered by time, then by the
	// order they were added.
	Transactions(ctx context.Context) ([]Transaction, error)
}

// RedefinesAccount reports whether saving a over old changes what old's
// transactions were booked under: its currency or cost method.
func RedefinesAccount(old, a Account) bool {
	return old.Currency != a.Currency || old.CostMethod != a.CostMethod
}

// SameTransaction reports whether a and b are the same transaction by value:
// equal ids, accounts, kinds, instants, symbols, currencies, notes and
// numerically equal decimals.
func SameTransaction(a, b Transaction) bool {
	return a.ID == b.ID && a.Account == b.Account && a.Kind == b.Kind && a.Time.Equal(b.Time) &&
		a.Symbol == b.Symbol && a.Quantity.Equal(b.Quantity) && a.Price.Equal(b.Price) &&
		a.Fee.Equal(b.Fee) && a.Tax.Equal(b.Tax) && a.Amount.Equal(b.Amount) &&
		a.Currency == b.Currency && a.FXRate.Equal(b.FXRate) && a.Note == b.Note
}

// Books is what a store holds: accounts in the order they were first saved,
// instruments by symbol, transactions by time then insertion order.
type Books struct {
	Accounts     []Account
	Stocks       []Stock
	Transactions []Transaction
}

// Ledger replays the books into a new ledger.
func (b Books) Ledger() (*Ledger, error) {
	l, err := NewLedger(b.Accounts...)
	if err != nil {
		return nil, err
	}
	l.AddStocks(b.Stocks...)
	if err := l.Apply(b.Transactions...); err != nil {
		return nil, fmt.Errorf("portfolio: stored transactions do not apply: %w", err)
	}
	return l, nil
}

// LoadLedger builds a ledger from everything in store.
func LoadLedger(ctx context.Context, store Store) (*Ledger, error) {
	var b Books
	var err error
	if b.Accounts, err = store.Accounts(ctx); err != nil {
		return nil, err
	}
	if b.Stocks, err = store.Stocks(ctx); err != nil {
		return nil, err
	}
	if b.Transactions, err = store.Transactions(ctx); err != nil {
		return nil, err
	}
	return b.Ledger()
}

// BookTransactions is the one way to write transactions to a store: inside
// the store's write lock (Store.AddTransactionsChecked) it replays the
// current books and imports txs into them (Ledger.Import: ids filled in,
// already booked ones skipped, the rest all or nothing), then stores the new
// ones. Two concurrent calls therefore cannot both spend the same cash. It
// returns the transactions that were new, as booked; on error nothing is
// stored.
func BookTransactions(ctx context.Context, store Store, txs []Transaction) ([]Transaction, error) {
	var added []Transaction
	batch := func(b Books) ([]Transaction, error) {
		l, err := b.Ledger()
		if err != nil {
			return nil, err
		}
		added, err = l.Import(txs)
		return added, err
	}
	if _, err := store.AddTransactionsChecked(ctx, batch); err != nil {
		return nil, err
	}
	return added, nil
}

// MemStore is an in-memory Store, safe for concurrent use. The zero value
// is ready to use.
type MemStore struct {
	mu       sync.Mutex
	accounts []Account
	stocks   map[string]Stock
	txs      []Transaction
	ids      map[string]int
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{} }

// SaveAccount implements Store.
func (m *MemStore) SaveAccount(_ context.Context, a Account) error {
	a, err := normalizeAccount(a)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.accounts {
		if m.accounts[i].ID == a.ID {
			if RedefinesAccount(m.accounts[i], a) && slices.ContainsFunc(m.txs, func(t Transaction) bool { return t.Account == a.ID }) {
				return fmt.Errorf("%w: %q", ErrAccountInUse, a.ID)
			}
			m.accounts[i] = a
			return nil
		}
	}
	m.accounts = append(m.accounts, a)
	return nil
}

// Accounts implements Store.
func (m *MemStore) Accounts(context.Context) ([]Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.accounts), nil
}

// SaveStock implements Store.
func (m *MemStore) SaveStock(_ context.Context, s Stock) error {
	if s.Symbol == "" {
		return fmt.Errorf("%w: stock without symbol", ErrInvalidTransaction)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stocks == nil {
		m.stocks = make(map[string]Stock)
	}
	m.stocks[s.Symbol] = s
	return nil
}

// Stocks implements Store.
func (m *MemStore) Stocks(context.Context) ([]Stock, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stocksLocked(), nil
}

func (m *MemStore) stocksLocked() []Stock {
	out := make([]Stock, 0, len(m.stocks))
	for _, s := range m.stocks {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Stock) int { return cmpString(a.Symbol, b.Symbol) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AddTransactions implements Store.
func (m *MemStore) AddTransactions(_ context.Context, txs []Transaction) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addLocked(txs)
}

// AddTransactionsChecked implements Store.
func (m *MemStore) AddTransactionsChecked(_ context.Context, batch func(Books) ([]Transaction, error)) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := Books{Accounts: slices.Clone(m.accounts), Stocks: m.stocksLocked(), Transactions: slices.Clone(m.txs)}
	slices.SortStableFunc(b.Transactions, cmpTxTime)
	txs, err := batch(b)
	if err != nil {
		return 0, err
	}
	return m.addLocked(txs)
}

func (m *MemStore) addLocked(txs []Transaction) (int, error) {
	if m.ids == nil {
		m.ids = make(map[string]int)
	}
	known := make(map[string]bool, len(m.accounts))
	for _, a := range m.accounts {
		known[a.ID] = true
	}
	batch := make(map[string]int)
	var fresh []Transaction
	for _, tx := range txs {
		if tx.ID == "" {
			return 0, fmt.Errorf("%w: transaction without id", ErrInvalidTransaction)
		}
		if !known[tx.Account] {
			return 0, fmt.Errorf("%w: %q", ErrUnknownAccount, tx.Account)
		}
		if i, ok := m.ids[tx.ID]; ok {
			if !SameTransaction(m.txs[i], tx) {
				return 0, fmt.Errorf("%w: %q is stored with different content", ErrDuplicateID, tx.ID)
			}
			continue
		}
		if i, ok := batch[tx.ID]; ok {
			if !SameTransaction(fresh[i], tx) {
				return 0, fmt.Errorf("%w: %q twice with different content", ErrDuplicateID, tx.ID)
			}
			continue
		}
		batch[tx.ID] = len(fresh)
		fresh = append(fresh, tx)
	}
	for _, tx := range fresh {
		m.ids[tx.ID] = len(m.txs)
		m.txs = append(m.txs, tx)
	}
	return len(fresh), nil
}

// Transactions implements Store.
func (m *MemStore) Transactions(context.Context) ([]Transaction, error) {
	m.mu.Lock()
	out := slices.Clone(m.txs)
	m.mu.Unlock()
	slices.SortStableFunc(out, cmpTxTime)
	return out, nil
}
