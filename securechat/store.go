package securechat

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// StoredEnvelope is one mailbox entry: opaque envelope bytes plus the
// metadata the relay needs to route and expire it.
type StoredEnvelope struct {
	Seq      uint64 // per-recipient, strictly increasing
	Sender   PeerID
	Envelope []byte
	Received time.Time
	Expires  time.Time
}

// StorageUsage is how many envelopes a store holds and their bytes.
type StorageUsage struct {
	Envelopes int64 `json:"envelopes"`
	Bytes     int64 `json:"bytes"`
}

// StoredPrekey is a one-time prekey as the relay keeps it.
type StoredPrekey struct {
	ID     uint32
	Public []byte
}

// Store is the relay's persistence: per-recipient mailboxes and published
// prekeys. Implementations must be safe for concurrent use. MemoryStore is
// the in-memory one; securechat/sqlstore keeps it in SQL.
type Store interface {
	// Enqueue appends env to recipient's mailbox and returns its sequence
	// number; ErrMailboxFull when the mailbox already holds limit entries
	// (limit <= 0 means unbounded).
	Enqueue(ctx context.Context, recipient PeerID, env StoredEnvelope, limit int) (uint64, error)
	// Pending returns up to limit unexpired entries with Seq > after, in
	// Seq order.
	Pending(ctx context.Context, recipient PeerID, after uint64, limit int, now time.Time) ([]StoredEnvelope, error)
	// Ack removes one entry; acking a missing entry is not an error.
	Ack(ctx context.Context, recipient PeerID, seq uint64) error
	// PurgeExpired deletes entries whose Expires is before now.
	PurgeExpired(ctx context.Context, now time.Time) (int, error)
	// SenderUsage returns what the mailboxes hold that sender sent.
	SenderUsage(ctx context.Context, sender PeerID) (StorageUsage, error)
	// Usage returns what the mailboxes hold in all.
	Usage(ctx context.Context) (StorageUsage, error)
	// PutPrekeys stores peer's signed part (identity + signed prekey,
	// replacing any previous one) and adds the one-time prekeys whose ids
	// are above every id ever stored for peer, so a key handed out once is
	// never stored again. At most MaxOneTimePrekeys one-time prekeys are
	// kept per peer (further ones are dropped, their ids still count as
	// seen), so an identity cannot grow the store without bound by
	// publishing over and over.
	PutPrekeys(ctx context.Context, peer PeerID, signed []byte, oneTime []StoredPrekey) error
	// TakeBundle returns peer's signed part and removes and returns one
	// one-time prekey (nil when none are left); ErrNotFound for an unknown
	// peer.
	TakeBundle(ctx context.Context, peer PeerID) ([]byte, *StoredPrekey, error)
	// PeekPrekeys returns peer's signed part and how many one-time prekeys
	// are stored for it, taking none; ErrNotFound for an unknown peer.
	PeekPrekeys(ctx context.Context, peer PeerID) (signed []byte, oneTime int, err error)
}

// MemoryStore is an in-memory Store. The zero value is not usable; call
// NewMemoryStore.
type MemoryStore struct {
	mu      sync.Mutex
	boxes   map[PeerID]*memBox
	prekeys map[PeerID]*memPrekeys
}

type memBox struct {
	next uint64
	msgs []StoredEnvelope // Seq order
}

type memPrekeys struct {
	signed  []byte
	maxID   uint32
	hasMax  bool
	oneTime []StoredPrekey // ID order
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{boxes: make(map[PeerID]*memBox), prekeys: make(map[PeerID]*memPrekeys)}
}

// Enqueue implements Store.
func (m *MemoryStore) Enqueue(_ context.Context, recipient PeerID, env StoredEnvelope, limit int) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxes[recipient]
	if b == nil {
		b = &memBox{}
		m.boxes[recipient] = b
	}
	if limit > 0 && len(b.msgs) >= limit {
		return 0, fmt.Errorf("%w: %s holds %d messages", ErrMailboxFull, recipient, len(b.msgs))
	}
	b.next++
	env.Seq = b.next
	env.Envelope = append([]byte(nil), env.Envelope...)
	b.msgs = append(b.msgs, env)
	return env.Seq, nil
}

// Pending implements Store.
func (m *MemoryStore) Pending(_ context.Context, recipient PeerID, after uint64, limit int, now time.Time) ([]StoredEnvelope, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxes[recipient]
	if b == nil {
		return nil, nil
	}
	i := sort.Search(len(b.msgs), func(i int) bool { return b.msgs[i].Seq > after })
	var out []StoredEnvelope
	for ; i < len(b.msgs) && (limit <= 0 || len(out) < limit); i++ {
		e := b.msgs[i]
		if !e.Expires.IsZero() && e.Expires.Before(now) {
			continue
		}
		e.Envelope = append([]byte(nil), e.Envelope...)
		out = append(out, e)
	}
	return out, nil
}

// Ack implements Store.
func (m *MemoryStore) Ack(_ context.Context, recipient PeerID, seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxes[recipient]
	if b == nil {
		return nil
	}
	i := sort.Search(len(b.msgs), func(i int) bool { return b.msgs[i].Seq >= seq })
	if i < len(b.msgs) && b.msgs[i].Seq == seq {
		b.msgs = append(b.msgs[:i], b.msgs[i+1:]...)
	}
	return nil
}

// PurgeExpired implements Store.
func (m *MemoryStore) PurgeExpired(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.boxes {
		kept := b.msgs[:0]
		for _, e := range b.msgs {
			if !e.Expires.IsZero() && e.Expires.Before(now) {
				n++
				continue
			}
			kept = append(kept, e)
		}
		b.msgs = kept
	}
	return n, nil
}

// SenderUsage implements Store.
func (m *MemoryStore) SenderUsage(_ context.Context, sender PeerID) (StorageUsage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var u StorageUsage
	for _, b := range m.boxes {
		for _, e := range b.msgs {
			if e.Sender == sender {
				u.Envelopes++
				u.Bytes += int64(len(e.Envelope))
			}
		}
	}
	return u, nil
}

// Usage implements Store.
func (m *MemoryStore) Usage(_ context.Context) (StorageUsage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var u StorageUsage
	for _, b := range m.boxes {
		for _, e := range b.msgs {
			u.Envelopes++
			u.Bytes += int64(len(e.Envelope))
		}
	}
	return u, nil
}

// PutPrekeys implements Store.
func (m *MemoryStore) PutPrekeys(_ context.Context, peer PeerID, signed []byte, oneTime []StoredPrekey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.prekeys[peer]
	if p == nil {
		p = &memPrekeys{}
		m.prekeys[peer] = p
	}
	p.signed = append([]byte(nil), signed...)
	for _, k := range oneTime {
		if (p.hasMax && k.ID <= p.maxID) || len(p.oneTime) >= MaxOneTimePrekeys {
			continue
		}
		p.oneTime = append(p.oneTime, StoredPrekey{ID: k.ID, Public: append([]byte(nil), k.Public...)})
	}
	sort.Slice(p.oneTime, func(i, j int) bool { return p.oneTime[i].ID < p.oneTime[j].ID })
	for _, k := range oneTime {
		if !p.hasMax || k.ID > p.maxID {
			p.maxID, p.hasMax = k.ID, true
		}
	}
	return nil
}

// TakeBundle implements Store.
func (m *MemoryStore) TakeBundle(_ context.Context, peer PeerID) ([]byte, *StoredPrekey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.prekeys[peer]
	if p == nil {
		return nil, nil, fmt.Errorf("%w: no prekeys for %s", ErrNotFound, peer)
	}
	signed := append([]byte(nil), p.signed...)
	if len(p.oneTime) == 0 {
		return signed, nil, nil
	}
	k := p.oneTime[0]
	p.oneTime = p.oneTime[1:]
	return signed, &k, nil
}

// PeekPrekeys implements Store.
func (m *MemoryStore) PeekPrekeys(_ context.Context, peer PeerID) ([]byte, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.prekeys[peer]
	if p == nil {
		return nil, 0, fmt.Errorf("%w: no prekeys for %s", ErrNotFound, peer)
	}
	return append([]byte(nil), p.signed...), len(p.oneTime), nil
}

// Snapshot returns every stored byte slice (envelopes, prekeys) so tests
// and audits can scan what the relay holds.
func (m *MemoryStore) Snapshot() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, b := range m.boxes {
		for _, e := range b.msgs {
			out = append(out, append([]byte(nil), e.Envelope...))
		}
	}
	for _, p := range m.prekeys {
		out = append(out, append([]byte(nil), p.signed...))
		for _, k := range p.oneTime {
			out = append(out, append([]byte(nil), k.Public...))
		}
	}
	return out
}
