package portfolio

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Store persists the books of one owner: accounts, instruments and
// transactions. The ledger is rebuilt from them with LoadLedger; stores keep
// no derived state. Every method sees and changes this owner's books only:
// an id names a record of this book, never another owner's, and two owners
// may each have an account "broker" or a transaction "t1".
//
// Transactions are written through BookTransactions, EditTransaction and
// DeleteTransaction, which check the change against the current books
// inside Update; Update itself only stores what it is given. Accounts are
// written through Update too (Change.Accounts; SaveAccount and AddAccount
// are such changes), so an account is checked against the books as stored.
//
// Every write bumps the book's revision in the write's own transaction,
// so a cache of the books (in this process or another on the same
// database) knows they changed by reading Revision, one cheap point read.
//
// Implementations: MemStore here and portfolio/sqlstore on database/sql;
// both are a Shelf, whose Book method opens the Store of another owner.
// Package portfolio/storetest checks an implementation.
type Store interface {
	// SaveAccount inserts or replaces an account: it is Update with a
	// Change of this one account. Replacing one that has transactions
	// with another currency or cost method (RedefinesAccount) fails with
	// ErrAccountInUse and changes nothing.
	SaveAccount(ctx context.Context, a Account) error
	// Accounts returns the book's accounts in the order they were first
	// saved.
	Accounts(ctx context.Context) ([]Account, error)
	// SaveStock inserts or replaces an instrument of this book.
	SaveStock(ctx context.Context, s Stock) error
	// Stocks returns the instruments this book sees, ordered by symbol: its
	// own, and those of the default book (owner "") it has not replaced,
	// so the default book is a catalogue every owner shares for reading.
	Stocks(ctx context.Context) ([]Stock, error)
	// Update holds the store's write lock, calls change with the book as
	// stored at that moment and stores the Change it returns (see
	// Books.Prepare for what is refused), before any other write can come
	// between. It returns how many transactions were added. If change or
	// Prepare fails, the error is returned and nothing is stored.
	Update(ctx context.Context, change func(current Books) (Change, error)) (int, error)
	// Transactions returns the book's transactions ordered by time, then
	// by the order they were stored.
	Transactions(ctx context.Context) ([]Transaction, error)
	// Revision returns a number that is different after every write to
	// what this book reads (its accounts, instruments and transactions,
	// and the default book's instruments it sees): each write that
	// stores something bumps its book's revision inside its own
	// transaction, and a write that fails changes nothing. It is the
	// sum of this book's and the default book's counters, so it only
	// grows. Stores answer it with a point read (a primary key), cheap
	// enough to check on every request before using cached books.
	// State records (StateStore) are not books and do not bump it.
	Revision(ctx context.Context) (uint64, error)
}

// A Shelf keeps the books of many owners apart. Book returns the Store of
// one owner's books; the shelf's own owner is the default book, "". An
// invalid owner (CheckOwner) gives a Store whose every call fails with
// ErrInvalidOwner.
type Shelf interface {
	Book(owner string) Store
}

// MaxOwnerLen is the longest owner a store accepts, in bytes.
const MaxOwnerLen = 200

// CheckOwner fails with ErrInvalidOwner unless owner is valid UTF-8 of at
// most MaxOwnerLen bytes without control characters. The empty owner is the
// default book.
func CheckOwner(owner string) error {
	if len(owner) > MaxOwnerLen || !utf8.ValidString(owner) || strings.ContainsFunc(owner, unicode.IsControl) {
		return fmt.Errorf("%w: %.40q", ErrInvalidOwner, owner)
	}
	return nil
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

// Books is what a store holds for one owner: accounts in the order they
// were first saved, instruments by symbol, transactions by time then the
// order they were stored.
type Books struct {
	Accounts     []Account
	Stocks       []Stock
	Transactions []Transaction
}

// Change is what Store.Update stores: Delete and Replace name stored
// transactions by id; an id may appear once in the whole change.
type Change struct {
	// Accounts are accounts to insert, or to replace the stored one of
	// the same id (keeping its place in the order). The store fills
	// their defaults (NormalizeAccount). Transactions of the change may
	// name them.
	Accounts []Account
	// Add are new transactions. One whose id is stored with the same
	// content is skipped; the same id with other content fails with
	// ErrDuplicateID.
	Add []Transaction
	// Replace gives stored transactions new content. A replaced
	// transaction is stored after the others of its time, as if entered
	// now (Books.Apply shows the order).
	Replace []Transaction
	// Delete removes stored transactions.
	Delete []string
}

// Prepare checks ch against b and returns the transactions of ch.Add to
// insert (those not stored yet, each once). An account that is not valid
// fails with ErrInvalidAccount, one given twice with ErrDuplicateAccount,
// one that redefines a stored account whose transactions stay
// (RedefinesAccount) with ErrAccountInUse. A transaction without id fails
// with ErrInvalidTransaction, one for an account neither b nor ch has with
// ErrUnknownAccount, a conflicting id with ErrDuplicateID, a Replace or
// Delete of an id b does not hold with ErrNotFound. Stores call it inside
// Update, under their write lock.
func (b Books) Prepare(ch Change) ([]Transaction, error) {
	accounts := make(map[string]bool, len(b.Accounts)+len(ch.Accounts))
	for _, a := range b.Accounts {
		accounts[a.ID] = true
	}
	if err := b.checkAccounts(ch); err != nil {
		return nil, err
	}
	for _, a := range ch.Accounts {
		accounts[a.ID] = true
	}
	stored := make(map[string]int, len(b.Transactions))
	for i, t := range b.Transactions {
		stored[t.ID] = i
	}
	check := func(t Transaction) error {
		if t.ID == "" {
			return fmt.Errorf("%w: transaction without id", ErrInvalidTransaction)
		}
		if !accounts[t.Account] {
			return fmt.Errorf("%w: %q", ErrUnknownAccount, t.Account)
		}
		return nil
	}
	named := make(map[string]bool, len(ch.Replace)+len(ch.Delete))
	for _, t := range ch.Replace {
		if _, ok := stored[t.ID]; !ok || named[t.ID] {
			return nil, fmt.Errorf("%w: transaction %q to replace", ErrNotFound, t.ID)
		}
		if err := check(t); err != nil {
			return nil, err
		}
		named[t.ID] = true
	}
	for _, id := range ch.Delete {
		if _, ok := stored[id]; !ok || named[id] {
			return nil, fmt.Errorf("%w: transaction %q to delete", ErrNotFound, id)
		}
		named[id] = true
	}
	batch := make(map[string]int, len(ch.Add))
	var fresh []Transaction
	for _, t := range ch.Add {
		if err := check(t); err != nil {
			return nil, err
		}
		if named[t.ID] {
			return nil, fmt.Errorf("%w: %q is also replaced or deleted", ErrDuplicateID, t.ID)
		}
		if i, ok := stored[t.ID]; ok {
			if !SameTransaction(b.Transactions[i], t) {
				return nil, fmt.Errorf("%w: %q is stored with different content", ErrDuplicateID, t.ID)
			}
			continue
		}
		if i, ok := batch[t.ID]; ok {
			if !SameTransaction(fresh[i], t) {
				return nil, fmt.Errorf("%w: %q twice with different content", ErrDuplicateID, t.ID)
			}
			continue
		}
		batch[t.ID] = len(fresh)
		fresh = append(fresh, t)
	}
	return fresh, nil
}

// checkAccounts checks the accounts of ch (see Prepare).
func (b Books) checkAccounts(ch Change) error {
	if len(ch.Accounts) == 0 {
		return nil
	}
	stored := make(map[string]Account, len(b.Accounts))
	for _, a := range b.Accounts {
		stored[a.ID] = a
	}
	gone := make(map[string]bool, len(ch.Replace)+len(ch.Delete))
	for _, t := range ch.Replace {
		gone[t.ID] = true
	}
	for _, id := range ch.Delete {
		gone[id] = true
	}
	seen := make(map[string]bool, len(ch.Accounts))
	for _, a := range ch.Accounts {
		a, err := NormalizeAccount(a)
		if err != nil {
			return err
		}
		if seen[a.ID] {
			return fmt.Errorf("%w: %q twice in one change", ErrDuplicateAccount, a.ID)
		}
		seen[a.ID] = true
		old, ok := stored[a.ID]
		if !ok || !RedefinesAccount(old, a) {
			continue
		}
		if slices.ContainsFunc(b.Transactions, func(t Transaction) bool { return t.Account == a.ID && !gone[t.ID] }) {
			return fmt.Errorf("%w: %q", ErrAccountInUse, a.ID)
		}
	}
	return nil
}

// withAccounts returns accounts with those of ch put in: a stored one
// replaced in its place, a new one appended, defaults filled. ch must have
// passed Prepare.
func withAccounts(accounts []Account, ch Change) []Account {
	if len(ch.Accounts) == 0 {
		return accounts
	}
	out := slices.Clone(accounts)
	for _, a := range ch.Accounts {
		a, _ = NormalizeAccount(a)
		if i := slices.IndexFunc(out, func(o Account) bool { return o.ID == a.ID }); i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	return out
}

// Apply returns the books as they are after ch, in the order a store keeps
// them: accounts put in (withAccounts), deleted transactions gone,
// replaced and added ones after the others of their time. ch must have
// passed Prepare.
func (b Books) Apply(ch Change) (Books, error) {
	fresh, err := b.Prepare(ch)
	if err != nil {
		return Books{}, err
	}
	gone := make(map[string]bool, len(ch.Replace)+len(ch.Delete))
	for _, t := range ch.Replace {
		gone[t.ID] = true
	}
	for _, id := range ch.Delete {
		gone[id] = true
	}
	out := Books{Accounts: withAccounts(b.Accounts, ch), Stocks: b.Stocks}
	out.Transactions = make([]Transaction, 0, len(b.Transactions)+len(fresh))
	for _, t := range b.Transactions {
		if !gone[t.ID] {
			out.Transactions = append(out.Transactions, t)
		}
	}
	out.Transactions = append(out.Transactions, ch.Replace...)
	out.Transactions = append(out.Transactions, fresh...)
	slices.SortStableFunc(out.Transactions, cmpTxTime)
	return out, nil
}

// Ledger replays the books into a new ledger. If a stored transaction does
// not apply, the error is a *BooksError naming every one that does not
// (Replay shows the rest).
func (b Books) Ledger() (*Ledger, error) {
	l, problems, err := b.Replay()
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &BooksError{Problems: problems}
	}
	return l, nil
}

// Replay replays the books into a new ledger as far as they apply: a
// transaction that does not apply to the books before it (data written by
// an older version, or by hand) is left out and reported as a Problem, and
// the replay goes on without it. The error is for accounts that are not
// valid.
func (b Books) Replay() (*Ledger, []Problem, error) {
	l, err := NewLedger(b.Accounts...)
	if err != nil {
		return nil, nil, err
	}
	l.AddStocks(b.Stocks...)
	if err := l.Apply(b.Transactions...); err == nil {
		return l, nil, nil
	}
	// Apply changed nothing; book one at a time to find the culprits.
	var problems []Problem
	for _, t := range b.Transactions {
		if err := l.Apply(t); err != nil {
			problems = append(problems, Problem{Transaction: t, Err: err})
		}
	}
	return l, problems, nil
}

// A Problem is a stored transaction that does not apply to the books
// before it.
type Problem struct {
	Transaction Transaction
	Err         error
}

// BooksError reports stored transactions that do not apply. It unwraps to
// the first problem's error, so errors.Is(err, ErrInsufficientFunds) and
// the like work.
type BooksError struct {
	Problems []Problem // in booking order, at least one
}

func (e *BooksError) Error() string {
	p := e.Problems[0]
	more := ""
	if n := len(e.Problems) - 1; n > 0 {
		more = fmt.Sprintf(" (and %d more)", n)
	}
	return fmt.Sprintf("portfolio: stored transaction %q of %s does not apply%s: %v",
		p.Transaction.ID, p.Transaction.Time.Format("2006-01-02"), more, p.Err)
}

func (e *BooksError) Unwrap() error { return e.Problems[0].Err }

// ReadBooks reads everything in store (outside any write lock).
func ReadBooks(ctx context.Context, store Store) (Books, error) {
	var b Books
	var err error
	if b.Accounts, err = store.Accounts(ctx); err != nil {
		return Books{}, err
	}
	if b.Stocks, err = store.Stocks(ctx); err != nil {
		return Books{}, err
	}
	if b.Transactions, err = store.Transactions(ctx); err != nil {
		return Books{}, err
	}
	return b, nil
}

// LoadLedger builds a ledger from everything in store. If stored
// transactions do not apply, it fails with a *BooksError; ReadBooks and
// Books.Replay show what does apply.
func LoadLedger(ctx context.Context, store Store) (*Ledger, error) {
	b, err := ReadBooks(ctx, store)
	if err != nil {
		return nil, err
	}
	return b.Ledger()
}

// BookTransactions is the way to add transactions to a store: inside the
// store's write lock (Store.Update) it replays the current books and
// imports txs into them (Ledger.Import: ids filled in, already booked ones
// skipped, the rest all or nothing), then stores the new ones. Two
// concurrent calls therefore cannot both spend the same cash. It returns
// the transactions that were new, as booked; on error nothing is stored.
// Books that do not apply take nothing new (a *BooksError names what to
// fix first, with EditTransaction or DeleteTransaction).
func BookTransactions(ctx context.Context, store Store, txs []Transaction) ([]Transaction, error) {
	_, added, err := BookAndLoad(ctx, store, txs)
	return added, err
}

// BookAndLoad is BookTransactions that also returns the ledger of the
// books as they are once txs are stored, for a cache that must follow the
// store (papertrade.LedgerStore). The ledger is the caller's.
func BookAndLoad(ctx context.Context, store Store, txs []Transaction) (*Ledger, []Transaction, error) {
	var added []Transaction
	var l *Ledger
	change := func(b Books) (Change, error) {
		var err error
		if l, err = b.Ledger(); err != nil {
			return Change{}, err
		}
		added, err = l.Import(txs)
		return Change{Add: added}, err
	}
	if _, err := store.Update(ctx, change); err != nil {
		return nil, nil, err
	}
	return l, added, nil
}

// BookWithAccounts is BookTransactions that also creates the accounts
// txs need, in the same Update: inside the store's write lock, an account
// the books do not have is added (and is stored only if txs are), one they
// have must be stored with the same kind, currency, cost method and
// short and margin rules (its name may differ; otherwise
// ErrDuplicateAccount), and txs are imported into the books with the new
// accounts (Ledger.Import). All or nothing: on error nothing is stored. It
// returns the accounts created and the transactions that were new.
func BookWithAccounts(ctx context.Context, store Store, accounts []Account, txs []Transaction) (created []Account, added []Transaction, err error) {
	change := func(b Books) (Change, error) {
		created, added = nil, nil
		l, err := b.Ledger()
		if err != nil {
			return Change{}, err
		}
		for _, a := range accounts {
			n, err := NormalizeAccount(a)
			if err != nil {
				return Change{}, err
			}
			if i := slices.IndexFunc(b.Accounts, func(o Account) bool { return o.ID == n.ID }); i >= 0 {
				if o := b.Accounts[i]; o.Kind != n.Kind || RedefinesAccount(o, n) || o.AllowShort != n.AllowShort || o.AllowMargin != n.AllowMargin {
					return Change{}, fmt.Errorf("%w: %q is stored with another definition", ErrDuplicateAccount, n.ID)
				}
				continue
			}
			if err := l.AddAccount(n); err != nil {
				return Change{}, err
			}
			created = append(created, n)
		}
		added, err = l.Import(txs)
		return Change{Accounts: created, Add: added}, err
	}
	if _, err := store.Update(ctx, change); err != nil {
		return nil, nil, err
	}
	return created, added, nil
}

// EditTransaction replaces the stored transaction with tx's id by tx,
// inside the store's write lock, if the books still apply afterwards (see
// checkRepair); otherwise, or if no such transaction is stored
// (ErrNotFound), it changes nothing. The edited transaction is booked after
// the others of its time, as if entered now. It returns tx as booked
// (currency filled in).
func EditTransaction(ctx context.Context, store Store, tx Transaction) (Transaction, error) {
	var booked Transaction
	change := func(b Books) (Change, error) {
		ch := Change{Replace: []Transaction{tx}}
		l, err := checkRepair(b, ch)
		if err != nil {
			return Change{}, err
		}
		for _, t := range l.Transactions() {
			if t.ID == tx.ID {
				booked = t
			}
		}
		return Change{Replace: []Transaction{booked}}, nil
	}
	if _, err := store.Update(ctx, change); err != nil {
		return Transaction{}, err
	}
	return booked, nil
}

// DeleteTransaction deletes the stored transaction id, inside the store's
// write lock, if the books still apply afterwards (see checkRepair);
// otherwise, or if no such transaction is stored (ErrNotFound), it changes
// nothing.
func DeleteTransaction(ctx context.Context, store Store, id string) error {
	_, err := store.Update(ctx, func(b Books) (Change, error) {
		ch := Change{Delete: []string{id}}
		_, err := checkRepair(b, ch)
		return ch, err
	})
	return err
}

// checkRepair replays b with ch applied and returns the ledger if the
// change makes nothing worse: every transaction that applied before (and
// was not deleted) still applies, and a replaced one applies. Books that
// applied must therefore still apply; books that did not (older data, hand
// edits) may be repaired one transaction at a time. A change that fails
// the check is refused with a *BooksError naming what would not apply.
func checkRepair(b Books, ch Change) (*Ledger, error) {
	after, err := b.Apply(ch)
	if err != nil {
		return nil, err
	}
	_, before, err := b.Replay()
	if err != nil {
		return nil, err
	}
	l, problems, err := after.Replay()
	if err != nil {
		return nil, err
	}
	broken := make(map[string]bool, len(before))
	for _, p := range before {
		broken[p.Transaction.ID] = true
	}
	for _, t := range ch.Replace {
		delete(broken, t.ID)
	}
	var worse []Problem
	for _, p := range problems {
		if !broken[p.Transaction.ID] {
			worse = append(worse, p)
		}
	}
	if len(worse) > 0 {
		return nil, &BooksError{Problems: worse}
	}
	return l, nil
}

// MaxStateBytes bounds a state record (StateStore).
const MaxStateBytes = 1 << 20

// StateStore keeps small named records with a book, for what an
// application must keep beside the transactions (papertrade keeps a paper
// account's pending limit orders). Records are the book's own: another
// owner never sees them. MemStore's and sqlstore's books implement it.
type StateStore interface {
	// SaveState stores data under name (text of at most MaxStateBytes,
	// see CheckState; empty data deletes the record).
	SaveState(ctx context.Context, name string, data []byte) error
	// State returns the record stored under name, or ErrNotFound.
	State(ctx context.Context, name string) ([]byte, error)
	// UpdateState is a read-modify-write of one record that no other
	// write of it can come between, in any process on the store: it
	// locks the record, calls change with its data (nil when there is
	// none) and stores what change returns (see SaveState; empty data
	// deletes it). If change fails, or returns data CheckState refuses,
	// nothing is stored and the error is returned. change must not call
	// the store.
	UpdateState(ctx context.Context, name string, change func(current []byte) ([]byte, error)) error
}

// CheckState fails with ErrInvalidState for a name that is empty or longer
// than 100 bytes, or data beyond MaxStateBytes. Records are text (JSON,
// say): a name or data that is not valid UTF-8 or holds a NUL byte is
// refused too, so every store keeps the same records (PostgreSQL's text
// columns refuse those bytes).
func CheckState(name string, data []byte) error {
	if name == "" || len(name) > 100 || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 ||
		len(data) > MaxStateBytes || !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return fmt.Errorf("%w: %.40q (%d bytes)", ErrInvalidState, name, len(data))
	}
	return nil
}

// MemStore is an in-memory Shelf of books; as a Store it is the default
// book (owner ""). It is safe for concurrent use. The zero value is ready
// to use.
type MemStore struct {
	once  sync.Once
	shelf *memShelf
	owner string
}

// memShelf is what every Book of one MemStore shares.
type memShelf struct {
	mu    sync.Mutex
	books map[string]*memBook
}

// memBook is one owner's books.
type memBook struct {
	rev      uint64 // bumped by every write that stores something
	accounts []Account
	stocks   map[string]Stock
	txs      []Transaction // in the order stored
	state    map[string][]byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{} }

// Book returns the Store of owner's books in m.
func (m *MemStore) Book(owner string) Store { return &MemStore{shelf: m.root(), owner: owner} }

func (m *MemStore) root() *memShelf {
	m.once.Do(func() {
		if m.shelf == nil {
			m.shelf = &memShelf{}
		}
	})
	return m.shelf
}

// lock locks the shelf and returns the book of m's owner, which the caller
// may change until it calls unlock.
func (m *MemStore) lock() (b *memBook, unlock func(), err error) {
	if err := CheckOwner(m.owner); err != nil {
		return nil, nil, err
	}
	sh := m.root()
	sh.mu.Lock()
	return sh.bookLocked(m.owner), sh.mu.Unlock, nil
}

func (sh *memShelf) bookLocked(owner string) *memBook {
	if sh.books == nil {
		sh.books = make(map[string]*memBook)
	}
	b, ok := sh.books[owner]
	if !ok {
		b = &memBook{stocks: make(map[string]Stock)}
		sh.books[owner] = b
	}
	return b
}

// SaveAccount implements Store.
func (m *MemStore) SaveAccount(ctx context.Context, a Account) error {
	_, err := m.Update(ctx, func(Books) (Change, error) { return Change{Accounts: []Account{a}}, nil })
	return err
}

// AddAccount adds a new account to store, checked inside the store's write
// lock (Store.Update) against the books as stored: an id the books already
// have fails with ErrDuplicateAccount, an account that is not valid with
// ErrInvalidAccount, and nothing is stored. Two racing calls with one id
// therefore store exactly one of the accounts. It returns the account as
// stored (defaults filled).
func AddAccount(ctx context.Context, store Store, a Account) (Account, error) {
	a, err := NormalizeAccount(a)
	if err != nil {
		return Account{}, err
	}
	_, err = store.Update(ctx, func(b Books) (Change, error) {
		if slices.ContainsFunc(b.Accounts, func(o Account) bool { return o.ID == a.ID }) {
			return Change{}, fmt.Errorf("%w: %q", ErrDuplicateAccount, a.ID)
		}
		return Change{Accounts: []Account{a}}, nil
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// Accounts implements Store.
func (m *MemStore) Accounts(context.Context) ([]Account, error) {
	b, unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return slices.Clone(b.accounts), nil
}

// SaveStock implements Store.
func (m *MemStore) SaveStock(_ context.Context, s Stock) error {
	if s.Symbol == "" {
		return fmt.Errorf("%w: stock without symbol", ErrInvalidTransaction)
	}
	b, unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	b.stocks[s.Symbol] = s
	b.rev++
	return nil
}

// Stocks implements Store.
func (m *MemStore) Stocks(context.Context) ([]Stock, error) {
	_, unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return m.stocksLocked(), nil
}

// stocksLocked returns the book's instruments and the default book's it
// has not replaced, by symbol.
func (m *MemStore) stocksLocked() []Stock {
	seen := make(map[string]Stock)
	for _, owner := range []string{"", m.owner} {
		for sym, s := range m.shelf.bookLocked(owner).stocks {
			seen[sym] = s
		}
	}
	out := make([]Stock, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Stock) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out
}

// Update implements Store.
func (m *MemStore) Update(_ context.Context, change func(Books) (Change, error)) (int, error) {
	b, unlock, err := m.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	current := Books{Accounts: slices.Clone(b.accounts), Stocks: m.stocksLocked(), Transactions: b.sorted()}
	ch, err := change(current)
	if err != nil {
		return 0, err
	}
	fresh, err := current.Prepare(ch)
	if err != nil {
		return 0, err
	}
	if len(ch.Accounts)+len(fresh)+len(ch.Replace)+len(ch.Delete) == 0 {
		return 0, nil
	}
	b.rev++
	b.accounts = withAccounts(b.accounts, ch)
	gone := make(map[string]bool, len(ch.Replace)+len(ch.Delete))
	for _, t := range ch.Replace {
		gone[t.ID] = true
	}
	for _, id := range ch.Delete {
		gone[id] = true
	}
	if len(gone) > 0 {
		b.txs = slices.DeleteFunc(b.txs, func(t Transaction) bool { return gone[t.ID] })
	}
	b.txs = append(b.txs, ch.Replace...)
	b.txs = append(b.txs, fresh...)
	return len(fresh), nil
}

// Revision implements Store.
func (m *MemStore) Revision(context.Context) (uint64, error) {
	b, unlock, err := m.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	if m.owner == "" {
		return b.rev, nil
	}
	return b.rev + m.shelf.bookLocked("").rev, nil
}

// sorted returns the book's transactions by time, then the order stored.
func (b *memBook) sorted() []Transaction {
	out := slices.Clone(b.txs)
	slices.SortStableFunc(out, cmpTxTime)
	return out
}

// Transactions implements Store.
func (m *MemStore) Transactions(context.Context) ([]Transaction, error) {
	b, unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return b.sorted(), nil
}

// SaveState implements StateStore.
func (m *MemStore) SaveState(_ context.Context, name string, data []byte) error {
	if err := CheckState(name, data); err != nil {
		return err
	}
	b, unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if len(data) == 0 {
		delete(b.state, name)
		return nil
	}
	if b.state == nil {
		b.state = make(map[string][]byte)
	}
	b.state[name] = slices.Clone(data)
	return nil
}

// UpdateState implements StateStore.
func (m *MemStore) UpdateState(_ context.Context, name string, change func([]byte) ([]byte, error)) error {
	if err := CheckState(name, nil); err != nil {
		return err
	}
	b, unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	next, err := change(slices.Clone(b.state[name]))
	if err != nil {
		return err
	}
	if err := CheckState(name, next); err != nil {
		return err
	}
	if len(next) == 0 {
		delete(b.state, name)
		return nil
	}
	if b.state == nil {
		b.state = make(map[string][]byte)
	}
	b.state[name] = slices.Clone(next)
	return nil
}

// State implements StateStore.
func (m *MemStore) State(_ context.Context, name string) ([]byte, error) {
	if err := CheckState(name, nil); err != nil {
		return nil, err
	}
	b, unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	d, ok := b.state[name]
	if !ok {
		return nil, fmt.Errorf("%w: state %q", ErrNotFound, name)
	}
	return slices.Clone(d), nil
}
