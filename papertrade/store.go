package papertrade

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
)

// LedgerStore is a Booker that books into a persistent portfolio.Store and
// keeps the store's ledger for reading: Apply books through
// portfolio.BookAndLoad, checked against the books as stored (not as last
// read) inside the store's write lock, and the ledger then follows the
// store, so a paper account survives restarts and another writer of the same
// books cannot make it spend cash it no longer has. It also implements
// Holdings, so an Account opened on it resumes from what was stored. It is
// safe for concurrent use.
type LedgerStore struct {
	mu      sync.RWMutex
	store   portfolio.Store
	ledger  *portfolio.Ledger
	rev     uint64 // the store's revision the ledger was read at
	known   bool   // whether rev is known (not after Apply)
	timeout time.Duration
}

// OpenLedgerStore loads the ledger from store (portfolio.LoadLedger).
// Store calls made by Apply time out after timeout (default 10 s).
func OpenLedgerStore(ctx context.Context, store portfolio.Store, timeout time.Duration) (*LedgerStore, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidOptions)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	s := &LedgerStore{store: store, timeout: timeout}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// reload reads the ledger and the revision it was read at (the revision
// first: a write in between leaves the older one, so the next Refresh
// reads again). The caller holds s.mu or owns s.
func (s *LedgerStore) reload(ctx context.Context) error {
	rev, err := s.store.Revision(ctx)
	if err != nil {
		return fmt.Errorf("papertrade: load ledger: %w", err)
	}
	l, err := portfolio.LoadLedger(ctx, s.store)
	if err != nil {
		return fmt.Errorf("papertrade: load ledger: %w", err)
	}
	s.ledger, s.rev, s.known = l, rev, true
	return nil
}

// Refresh reads the ledger from the store again if the store's revision
// changed since it was read (another process, or another writer of the
// books, booked meanwhile): one revision read when nothing changed.
func (s *LedgerStore) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known {
		rev, err := s.store.Revision(ctx)
		if err != nil {
			return fmt.Errorf("papertrade: revision: %w", err)
		}
		if rev == s.rev {
			return nil
		}
	}
	return s.reload(ctx)
}

// Apply books txs into the store, all or nothing, validated against the
// stored books, and then reads from the books as stored. If the store
// refuses them, the ledger is reloaded from the store, so it shows what is
// stored, and the error is returned.
func (s *LedgerStore) Apply(txs ...portfolio.Transaction) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	l, _, err := portfolio.BookAndLoad(ctx, s.store, txs)
	if err != nil {
		_ = s.reload(ctx)
		return fmt.Errorf("papertrade: book transactions: %w", err)
	}
	// The ledger is the books as this write left them; the revision
	// after it is not known (another write may follow at once).
	s.ledger, s.known = l, false
	return nil
}

// Cash implements Holdings.
func (s *LedgerStore) Cash(account string) (decimal.Decimal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ledger.Cash(account)
}

// Positions implements Holdings.
func (s *LedgerStore) Positions(account string) []portfolio.Position {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ledger.Positions(account)
}

// Ledger returns the current ledger (for reports and valuation).
func (s *LedgerStore) Ledger() *portfolio.Ledger {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ledger
}
