package securechat

import (
	"cmp"
	"context"
	"slices"
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

// EnqueueLimits bound what Store.Enqueue may store. A zero or negative
// field is unbounded.
type EnqueueLimits struct {
	// Mailbox is the most entries the recipient's mailbox may hold.
	Mailbox int
	// SenderBytes is the most envelope bytes one sender may have stored,
	// the new envelope included.
	SenderBytes int64
	// TotalBytes is the most envelope bytes the store may hold from all
	// senders, the new envelope included.
	TotalBytes int64
}

// Store is the relay's persistence: per-recipient mailboxes, published
// prekeys and the relay's shared rate limits. Implementations must be safe
// for concurrent use, and every method is one atomic step for all users of
// the same data (relays of several processes sharing one database
// included). MemoryStore is the in-memory one; securechat/sqlstore keeps it
// in SQL.
type Store interface {
	// Enqueue appends env to recipient's mailbox and returns its sequence
	// number, if the mailbox and the quotas of lim admit it: ErrMailboxFull
	// when the mailbox already holds lim.Mailbox entries, ErrQuotaExceeded
	// when the sender's or all senders' stored bytes would pass
	// lim.SenderBytes or lim.TotalBytes. The checks and the append are one
	// step, so racing writers cannot together pass a bound.
	Enqueue(ctx context.Context, recipient PeerID, env StoredEnvelope, lim EnqueueLimits) (uint64, error)
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
	// TakeToken takes one token at time now from the named token bucket,
	// which holds at most burst tokens and gains one every interval (a
	// bucket never used is full), and reports whether there was one. The
	// check and the take are one step, so relays sharing the store share
	// the bucket. ErrMalformed for an empty name, a non-positive interval
	// or burst, or a bucket that would span more than a year.
	TakeToken(ctx context.Context, bucket string, interval time.Duration, burst int, now time.Time) (bool, error)
}

// MaxBucketName bounds the name of a token bucket (Store.TakeToken).
const MaxBucketName = 128

// maxBucketSpan bounds interval × burst of a token bucket.
const maxBucketSpan = 366 * 24 * time.Hour

// CheckBucket returns ErrMalformed for token bucket parameters a Store
// refuses (see Store.TakeToken), so that every Store checks alike.
func CheckBucket(bucket string, interval time.Duration, burst int) error {
	switch {
	case bucket == "" || len(bucket) > MaxBucketName:
		return errorf("%w: token bucket name of %d bytes (want 1 to %d)", ErrMalformed, len(bucket), MaxBucketName)
	case interval <= 0 || burst <= 0:
		return errorf("%w: token bucket interval %v and burst %d must be positive", ErrMalformed, interval, burst)
	case interval > maxBucketSpan/time.Duration(burst):
		return errorf("%w: token bucket of %d tokens every %v spans more than a year", ErrMalformed, burst, interval)
	}
	return nil
}

// takeTokenAt is the token bucket rule of Store.TakeToken as a generic
// cell rate algorithm: a bucket is the time tat (Unix nanoseconds) at
// which it is full again. It returns the bucket's new tat and whether a
// token was taken; a refused take leaves tat as it was. Stores keep tat
// and apply this rule (the SQL store in one statement).
func takeTokenAt(tat int64, interval time.Duration, burst int, now time.Time) (int64, bool) {
	n := now.UnixNano()
	next := max(tat, n) + int64(interval)
	if next-n > int64(interval)*int64(burst) {
		return tat, false
	}
	return next, true
}

// MemoryStore is an in-memory Store. The zero value is not usable; call
// NewMemoryStore.
type MemoryStore struct {
	mu      sync.Mutex
	boxes   map[PeerID]*memBox
	prekeys map[PeerID]*memPrekeys
	senders map[PeerID]StorageUsage // what each sender's envelopes take
	total   StorageUsage
	buckets map[string]int64 // token buckets: when each is full again
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
	return &MemoryStore{boxes: make(map[PeerID]*memBox), prekeys: make(map[PeerID]*memPrekeys),
		senders: make(map[PeerID]StorageUsage), buckets: make(map[string]int64)}
}

// count adds n envelopes of bytes from sender to the usage counters
// (negative to remove them).
func (m *MemoryStore) count(sender PeerID, n, bytes int64) {
	u := m.senders[sender]
	u.Envelopes += n
	u.Bytes += bytes
	if u.Envelopes <= 0 {
		delete(m.senders, sender)
	} else {
		m.senders[sender] = u
	}
	m.total.Envelopes += n
	m.total.Bytes += bytes
}

// Enqueue implements Store.
func (m *MemoryStore) Enqueue(_ context.Context, recipient PeerID, env StoredEnvelope, lim EnqueueLimits) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxes[recipient]
	if lim.Mailbox > 0 && b != nil && len(b.msgs) >= lim.Mailbox {
		return 0, errorf("%w: %s holds %d messages", ErrMailboxFull, recipient, len(b.msgs))
	}
	size := int64(len(env.Envelope))
	if err := checkQuota(m.senders[env.Sender], m.total, size, lim); err != nil {
		return 0, err
	}
	if b == nil {
		b = &memBox{}
		m.boxes[recipient] = b
	}
	m.count(env.Sender, 1, size)
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
		m.count(b.msgs[i].Sender, -1, -int64(len(b.msgs[i].Envelope)))
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
				m.count(e.Sender, -1, -int64(len(e.Envelope)))
				n++
				continue
			}
			kept = append(kept, e)
		}
		b.msgs = kept
	}
	for name, tat := range m.buckets {
		if tat <= now.UnixNano() {
			delete(m.buckets, name) // full again: it carries nothing
		}
	}
	return n, nil
}

// SenderUsage implements Store.
func (m *MemoryStore) SenderUsage(_ context.Context, sender PeerID) (StorageUsage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.senders[sender], nil
}

// Usage implements Store.
func (m *MemoryStore) Usage(_ context.Context) (StorageUsage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total, nil
}

// checkQuota returns ErrQuotaExceeded when an envelope of size bytes would
// take sender (using sender) or the store (using total) past lim.
func checkQuota(sender, total StorageUsage, size int64, lim EnqueueLimits) error {
	if lim.SenderBytes > 0 && sender.Bytes+size > lim.SenderBytes {
		return errorf("%w: %d bytes of yours wait for delivery", ErrQuotaExceeded, sender.Bytes)
	}
	if lim.TotalBytes > 0 && total.Bytes+size > lim.TotalBytes {
		return errorf("%w: the relay holds its limit of undelivered envelopes", ErrQuotaExceeded)
	}
	return nil
}

// TakeToken implements Store.
func (m *MemoryStore) TakeToken(_ context.Context, bucket string, interval time.Duration, burst int, now time.Time) (bool, error) {
	if err := CheckBucket(bucket, interval, burst); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	tat, ok := takeTokenAt(m.buckets[bucket], interval, burst, now)
	if ok {
		m.buckets[bucket] = tat
	}
	return ok, nil
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
	slices.SortFunc(p.oneTime, func(a, b StoredPrekey) int { return cmp.Compare(a.ID, b.ID) })
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
		return nil, nil, errorf("%w: no prekeys for %s", ErrNotFound, peer)
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
		return nil, 0, errorf("%w: no prekeys for %s", ErrNotFound, peer)
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
