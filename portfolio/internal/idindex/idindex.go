// Package idindex is the portfolio ledger's index of transaction ids: a
// map from a string key to its position in a list that holds the keys
// (the ledger's journal), as an open-addressing table of (hash, position)
// pairs without pointers. The keys themselves stay in the list, so the
// garbage collector never scans the index, growing it rehashes stored
// hashes instead of strings, and a lookup followed by an insert hashes
// the key once.
package idindex

import "hash/maphash"

// KeyAt returns the key stored at a position of the list.
type KeyAt func(pos int) string

// Index maps keys to positions. The zero Index is not usable; New makes
// one.
type Index struct {
	seed  maphash.Seed
	slots []idSlot // len is a power of two (or zero)
	n     int
}

// idSlot is one entry: pos is the position + 1 (0 = empty), h the
// high bits of the id's hash.
type idSlot struct {
	h   uint32
	pos uint32
}

// New returns an empty index with room for capacity keys.
func New(capacity int) Index {
	x := Index{seed: maphash.MakeSeed()}
	x.Reserve(capacity)
	return x
}

// Len is the number of keys indexed.
func (x *Index) Len() int { return x.n }

func (x *Index) hash(id string) uint64 { return maphash.String(x.seed, id) }

// Reserve makes room for n keys in all without growing again.
func (x *Index) Reserve(n int) {
	size := 8
	for size/2 < n { // at most half full: short probe sequences
		size *= 2
	}
	if size <= len(x.slots) {
		return
	}
	old := x.slots
	x.slots = make([]idSlot, size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s.pos == 0 {
			continue
		}
		i := uint64(s.h) & mask
		for x.slots[i].pos != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// find returns the slot index of id (ok) or of the empty slot where it
// would go; h is the id's short hash.
func (x *Index) find(id string, h uint32, keyAt KeyAt) (uint64, bool) {
	mask := uint64(len(x.slots) - 1)
	i := uint64(h) & mask
	for {
		s := x.slots[i]
		if s.pos == 0 {
			return i, false
		}
		if s.h == h && keyAt(int(s.pos-1)) == id {
			return i, true
		}
		i = (i + 1) & mask
	}
}

// Get returns the position of id.
func (x *Index) Get(id string, keyAt KeyAt) (int, bool) {
	if x.n == 0 {
		return 0, false
	}
	i, ok := x.find(id, uint32(x.hash(id)>>32), keyAt)
	if !ok {
		return 0, false
	}
	return int(x.slots[i].pos - 1), true
}

// Add records id at position pos unless id is already there; it reports
// whether it was added. The list entry at pos need not exist yet (a new
// id is never compared with it).
func (x *Index) Add(id string, pos int, keyAt KeyAt) bool {
	x.Reserve(x.n + 1)
	h := uint32(x.hash(id) >> 32)
	i, ok := x.find(id, h, keyAt)
	if ok {
		return false
	}
	x.slots[i] = idSlot{h: h, pos: uint32(pos + 1)}
	x.n++
	return true
}

// Delete removes id (backward-shift deletion, no tombstones).
func (x *Index) Delete(id string, keyAt KeyAt) {
	if x.n == 0 {
		return
	}
	i, ok := x.find(id, uint32(x.hash(id)>>32), keyAt)
	if !ok {
		return
	}
	mask := uint64(len(x.slots) - 1)
	j := i
	for {
		j = (j + 1) & mask
		s := x.slots[j]
		if s.pos == 0 {
			break
		}
		home := uint64(s.h) & mask
		// s stays when its home lies cyclically in (i, j].
		if (i < j && i < home && home <= j) || (i > j && (i < home || home <= j)) {
			continue
		}
		x.slots[i] = s
		i = j
	}
	x.slots[i] = idSlot{}
	x.n--
}

// Hash is the short hash stored for id; pass it to Has and InsertAbsent.
func (x *Index) Hash(id string) uint32 { return uint32(x.hash(id) >> 32) }

// Has reports whether id (with short hash h) is indexed.
func (x *Index) Has(id string, h uint32, keyAt KeyAt) bool {
	if x.n == 0 {
		return false
	}
	_, ok := x.find(id, h, keyAt)
	return ok
}

// InsertAbsent records at pos an id known not to be indexed, by its short
// hash.
func (x *Index) InsertAbsent(h uint32, pos int) {
	x.Reserve(x.n + 1)
	mask := uint64(len(x.slots) - 1)
	i := uint64(h) & mask
	for x.slots[i].pos != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = idSlot{h: h, pos: uint32(pos + 1)}
	x.n++
}
