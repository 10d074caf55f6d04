package portfolio

import "hash/maphash"

// idIndex maps transaction ids to their position in the ledger's journal.
// It is an open-addressing table of (hash, position) pairs without
// pointers: the ids themselves live in the journal, so the garbage
// collector never scans the index, growing it rehashes stored hashes
// instead of strings, and a lookup followed by an insert hashes the id
// once.
type idIndex struct {
	seed  maphash.Seed
	slots []idSlot // len is a power of two (or zero)
	n     int
}

// idSlot is one entry: pos is the journal position + 1 (0 = empty), h the
// high bits of the id's hash.
type idSlot struct {
	h   uint32
	pos uint32
}

func newIDIndex(capacity int) idIndex {
	x := idIndex{seed: maphash.MakeSeed()}
	x.reserve(capacity)
	return x
}

func (x *idIndex) len() int { return x.n }

func (x *idIndex) hash(id string) uint64 { return maphash.String(x.seed, id) }

// reserve makes room for n entries in all without growing again.
func (x *idIndex) reserve(n int) {
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
// would go, and the id's short hash. journal resolves positions to ids.
func (x *idIndex) find(id string, h uint32, journal *txLog) (uint64, bool) {
	mask := uint64(len(x.slots) - 1)
	i := uint64(h) & mask
	for {
		s := x.slots[i]
		if s.pos == 0 {
			return i, false
		}
		if s.h == h && journal.at(int(s.pos-1)).ID == id {
			return i, true
		}
		i = (i + 1) & mask
	}
}

// get returns the journal position of id.
func (x *idIndex) get(id string, journal *txLog) (int, bool) {
	if x.n == 0 {
		return 0, false
	}
	i, ok := x.find(id, uint32(x.hash(id)>>32), journal)
	if !ok {
		return 0, false
	}
	return int(x.slots[i].pos - 1), true
}

// add records id at journal position pos unless id is already there; it
// reports whether it was added. The journal entry at pos need not exist
// yet (a new id is never compared with it).
func (x *idIndex) add(id string, pos int, journal *txLog) bool {
	x.reserve(x.n + 1)
	h := uint32(x.hash(id) >> 32)
	i, ok := x.find(id, h, journal)
	if ok {
		return false
	}
	x.slots[i] = idSlot{h: h, pos: uint32(pos + 1)}
	x.n++
	return true
}

// del removes id (backward-shift deletion, no tombstones).
func (x *idIndex) del(id string, journal *txLog) {
	if x.n == 0 {
		return
	}
	i, ok := x.find(id, uint32(x.hash(id)>>32), journal)
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

// idHash is the short hash stored for id; pass it to insertAbsent.
func (x *idIndex) idHash(id string) uint32 { return uint32(x.hash(id) >> 32) }

// has reports whether id (with short hash h) is indexed.
func (x *idIndex) has(id string, h uint32, journal *txLog) bool {
	if x.n == 0 {
		return false
	}
	_, ok := x.find(id, h, journal)
	return ok
}

// insertAbsent records an id known not to be indexed, by its short hash.
func (x *idIndex) insertAbsent(h uint32, pos int) {
	x.reserve(x.n + 1)
	mask := uint64(len(x.slots) - 1)
	i := uint64(h) & mask
	for x.slots[i].pos != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = idSlot{h: h, pos: uint32(pos + 1)}
	x.n++
}
