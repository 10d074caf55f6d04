package upload

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// MemStore is an in-memory Store for tests and single-process use; its
// contents are lost when the process ends. The zero value is not usable:
// call NewMemStore.
type MemStore struct {
	mu       sync.Mutex
	uploads  map[string]Upload
	sessions map[string]Session
	seq      map[string]int64 // insertion order, for stable listing
	next     int64
	deleting map[string]time.Time // deletion leases, by storage key
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{uploads: map[string]Upload{}, sessions: map[string]Session{}, seq: map[string]int64{}, deleting: map[string]time.Time{}}
}

var _ Store = (*MemStore)(nil)

func cloneUpload(u Upload) Upload {
	u.Meta = maps.Clone(u.Meta)
	return u
}

func cloneSession(s Session) Session {
	s.Meta = maps.Clone(s.Meta)
	s.HashState = slices.Clone(s.HashState)
	return s
}

// Create implements Store.
func (m *MemStore) Create(_ context.Context, ups ...Upload) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, u := range ups {
		if _, ok := m.uploads[u.ID]; ok || slices.ContainsFunc(ups[:i], func(o Upload) bool { return o.ID == u.ID }) {
			return fmt.Errorf("%w: upload %s exists", ErrConflict, u.ID)
		}
	}
	for _, u := range ups {
		if err := m.createLocked(u); err != nil {
			return err
		}
	}
	return nil
}

func (m *MemStore) createLocked(u Upload) error {
	if _, ok := m.uploads[u.ID]; ok {
		return fmt.Errorf("%w: upload %s exists", ErrConflict, u.ID)
	}
	m.uploads[u.ID] = cloneUpload(u)
	m.next++
	m.seq[u.ID] = m.next
	return nil
}

// Get implements Store.
func (m *MemStore) Get(_ context.Context, id string) (Upload, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.uploads[id]
	if !ok {
		return Upload{}, fmt.Errorf("%w: upload %s", ErrNotFound, id)
	}
	return cloneUpload(u), nil
}

// newerFirst orders uploads by creation time, newest first, then by
// id descending, the order every Store lists in.
func newerFirst(a, b Upload) int {
	if c := b.Created.Compare(a.Created); c != 0 {
		return c
	}
	switch {
	case a.ID > b.ID:
		return -1
	case a.ID < b.ID:
		return 1
	}
	return 0
}

// ListLimit normalizes ListOptions.Limit.
func ListLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 1000:
		return 1000
	}
	return n
}

// List implements Store.
func (m *MemStore) List(_ context.Context, opts ListOptions) ([]Upload, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := slices.SortedFunc(maps.Values(m.uploads), newerFirst)
	if opts.Before != "" {
		b, ok := m.uploads[opts.Before]
		if !ok {
			return nil, fmt.Errorf("%w: upload %s", ErrNotFound, opts.Before)
		}
		i := slices.IndexFunc(all, func(u Upload) bool { return newerFirst(b, u) < 0 })
		if i < 0 {
			i = len(all)
		}
		all = all[i:]
	}
	all = all[:min(len(all), ListLimit(opts.Limit))]
	for i := range all {
		all[i] = cloneUpload(all[i])
	}
	return all, nil
}

// due reports whether a job may be claimed at now.
func due(u Upload, now time.Time) bool {
	switch u.State {
	case StateQueued:
		return !u.RunAt.After(now)
	case StateProcessing:
		return u.LeaseUntil.Before(now)
	}
	return false
}

// Claim implements Store.
func (m *MemStore) Claim(_ context.Context, worker string, now time.Time, lease time.Duration) (Upload, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *Upload
	for _, u := range m.uploads {
		if !due(u, now) {
			continue
		}
		if best == nil || u.RunAt.Before(best.RunAt) || (u.RunAt.Equal(best.RunAt) && m.seq[u.ID] < m.seq[best.ID]) {
			best = &u
		}
	}
	if best == nil {
		return Upload{}, fmt.Errorf("%w: no job is due", ErrNotFound)
	}
	u := *best
	u.State = StateProcessing
	u.LeaseOwner = worker
	u.LeaseUntil = now.Add(lease)
	u.Attempts++
	u.Updated = now
	m.uploads[u.ID] = u
	return cloneUpload(u), nil
}

// leased returns worker's job or ErrLeaseLost.
func (m *MemStore) leased(id, worker string) (Upload, error) {
	u, ok := m.uploads[id]
	if !ok || u.State != StateProcessing || u.LeaseOwner != worker {
		return Upload{}, fmt.Errorf("%w: %s", ErrLeaseLost, id)
	}
	return u, nil
}

// Renew implements Store.
func (m *MemStore) Renew(_ context.Context, id, worker string, until time.Time, progress int, message string) (Upload, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.leased(id, worker)
	if err != nil {
		return Upload{}, err
	}
	u.LeaseUntil = until
	u.Progress = clampProgress(progress)
	u.Message = message
	u.Updated = time.Now()
	m.uploads[id] = u
	return cloneUpload(u), nil
}

func clampProgress(p int) int { return min(max(p, 0), 100) }

// MarkStored implements Store.
func (m *MemStore) MarkStored(_ context.Context, id, worker string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.leased(id, worker)
	if err != nil {
		return err
	}
	u.Temp = ""
	u.Updated = time.Now()
	m.uploads[id] = u
	return nil
}

// Finish implements Store.
func (m *MemStore) Finish(_ context.Context, id, worker string, f Finish) error {
	if !f.State.Terminal() {
		return fmt.Errorf("%w: finish with state %q", ErrBadRequest, f.State)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.leased(id, worker)
	if err != nil {
		return err
	}
	u.State, u.Message, u.Result = f.State, f.Message, f.Result
	if f.State == StateDone {
		u.Progress = 100
	}
	u.LeaseOwner, u.LeaseUntil = "", time.Time{}
	u.Updated = time.Now()
	m.uploads[id] = u
	return nil
}

// Release implements Store.
func (m *MemStore) Release(_ context.Context, id, worker string, runAt time.Time, message string, refund bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.leased(id, worker)
	if err != nil {
		return err
	}
	u.State, u.RunAt, u.Message = StateQueued, runAt, message
	u.LeaseOwner, u.LeaseUntil = "", time.Time{}
	if refund && u.Attempts > 0 {
		u.Attempts--
	}
	u.Updated = time.Now()
	m.uploads[id] = u
	return nil
}

// RequestCancel implements Store.
func (m *MemStore) RequestCancel(_ context.Context, id string) (Upload, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.uploads[id]
	if !ok {
		return Upload{}, fmt.Errorf("%w: upload %s", ErrNotFound, id)
	}
	if u.State.Terminal() {
		return Upload{}, fmt.Errorf("%w: the job has ended (%s)", ErrConflict, u.State)
	}
	u.CancelRequested = true
	u.Updated = time.Now()
	m.uploads[id] = u
	return cloneUpload(u), nil
}

// Delete implements Store.
func (m *MemStore) Delete(_ context.Context, id string, until time.Time) (Upload, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.uploads[id]
	if !ok {
		return Upload{}, 0, fmt.Errorf("%w: upload %s", ErrNotFound, id)
	}
	if !u.State.Terminal() {
		return Upload{}, 0, fmt.Errorf("%w: the job is %s; cancel it first", ErrConflict, u.State)
	}
	delete(m.uploads, id)
	delete(m.seq, id)
	n := m.refsLocked(u.Key)
	if n == 0 {
		m.deleting[u.Key] = until
	}
	return u, n, nil
}

func (m *MemStore) refsLocked(key string) int {
	n := 0
	for _, o := range m.uploads {
		if o.Key == key {
			n++
		}
	}
	return n
}

// Deleting implements Store.
func (m *MemStore) Deleting(_ context.Context, key string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.deleting[key]
	return ok && until.After(now), nil
}

// ObjectDeleted implements Store.
func (m *MemStore) ObjectDeleted(_ context.Context, key string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if got, ok := m.deleting[key]; ok && got.Equal(until) {
		delete(m.deleting, key)
	}
	return nil
}

// ExpiredDeletions implements Store.
func (m *MemStore) ExpiredDeletions(_ context.Context, now, until time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for key, t := range m.deleting {
		switch {
		case t.After(now):
		case m.refsLocked(key) > 0:
			delete(m.deleting, key)
		default:
			m.deleting[key] = until
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Pending implements Store.
func (m *MemStore) Pending(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, u := range m.uploads {
		if !u.State.Terminal() {
			n++
		}
	}
	return n, nil
}

// TempNames implements Store.
func (m *MemStore) TempNames(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, u := range m.uploads {
		if u.Temp != "" {
			out = append(out, u.Temp)
		}
	}
	for _, s := range m.sessions {
		out = append(out, s.Temp)
	}
	return out, nil
}

// CreateSession implements Store.
func (m *MemStore) CreateSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.ID]; ok {
		return fmt.Errorf("%w: session %s exists", ErrConflict, s.ID)
	}
	if _, ok := m.uploads[s.ID]; ok {
		return fmt.Errorf("%w: upload %s exists", ErrConflict, s.ID)
	}
	m.sessions[s.ID] = cloneSession(s)
	return nil
}

// GetSession implements Store.
func (m *MemStore) GetSession(_ context.Context, id string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return Session{}, fmt.Errorf("%w: session %s", ErrNotFound, id)
	}
	return cloneSession(s), nil
}

// AdvanceSession implements Store.
func (m *MemStore) AdvanceSession(_ context.Context, id string, from, to int64, hashState []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return fmt.Errorf("%w: session %s", ErrNotFound, id)
	}
	if s.Offset != from || to < from || to > s.Length {
		return fmt.Errorf("%w: session %s is at offset %d", ErrConflict, id, s.Offset)
	}
	s.Offset, s.HashState = to, slices.Clone(hashState)
	m.sessions[id] = s
	return nil
}

// DeleteSession implements Store.
func (m *MemStore) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

// ExpiredSessions implements Store.
func (m *MemStore) ExpiredSessions(_ context.Context, now time.Time) ([]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Session
	for _, s := range m.sessions {
		if s.Expires.Before(now) {
			out = append(out, cloneSession(s))
		}
	}
	return out, nil
}

// CompleteSession implements Store.
func (m *MemStore) CompleteSession(_ context.Context, u Upload) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[u.ID]; !ok {
		return fmt.Errorf("%w: session %s", ErrNotFound, u.ID)
	}
	if err := m.createLocked(u); err != nil {
		return err
	}
	delete(m.sessions, u.ID)
	return nil
}
