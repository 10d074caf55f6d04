// Package rank orders an allocation: weights largest first (a NaN last),
// then by key, as slices.SortFunc with that comparison would, but with a
// radix sort on the weights, so that sorting 10,000 slices calls no
// comparison function per step.
package rank

import (
	"cmp"
	"math"
	"slices"
)

// Entry is a weight and the index of its key.
type Entry struct {
	W float64
	I int32
}

// byWeightThenKey orders weights largest first (a NaN last), then by key.
func byWeightThenKey(keys []string) func(a, b Entry) int {
	return func(a, b Entry) int {
		// Plain comparisons first; cmp.Compare only for a NaN weight.
		switch {
		case a.W > b.W:
			return -1
		case a.W < b.W:
			return 1
		case a.W != b.W:
			if c := cmp.Compare(b.W, a.W); c != 0 {
				return c
			}
		}
		return cmp.Compare(keys[a.I], keys[b.I])
	}
}

// descKey maps a weight that is not NaN to a key whose ascending order is
// the weights' descending order; −0 and +0 (equal weights) map alike.
func descKey(w float64) uint64 {
	if w == 0 {
		w = 0
	}
	b := math.Float64bits(w)
	if b>>63 != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return ^b
}

// Sort sorts order as slices.SortFunc with byWeightThenKey(keys)
// does (the order is total, so the result is the same), but with a radix
// sort on the weights (bytes that all keys share are skipped) and the key
// compared only within runs of equal weights: no comparison function call
// per step of a 10,000-element sort.
func Sort(order []Entry, keys []string) {
	n := len(order)
	if n < 64 || slices.ContainsFunc(order, func(o Entry) bool { return o.W != o.W }) {
		slices.SortFunc(order, byWeightThenKey(keys))
		return
	}
	src, dst := order, make([]Entry, n)
	var count [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		clear(count[:])
		for _, o := range src {
			count[byte(descKey(o.W)>>shift)]++
		}
		if count[byte(descKey(src[0].W)>>shift)] == n {
			continue // every key has this byte: the pass would change nothing
		}
		at := 0
		for d, c := range count {
			count[d] = at
			at += c
		}
		for _, o := range src {
			d := byte(descKey(o.W) >> shift)
			dst[count[d]] = o
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &order[0] {
		copy(order, src)
	}
	byKey := func(a, b Entry) int { return cmp.Compare(keys[a.I], keys[b.I]) }
	for j := 0; j < n; {
		k, e := descKey(order[j].W), j+1
		for e < n && descKey(order[e].W) == k {
			e++
		}
		if e-j > 1 {
			slices.SortFunc(order[j:e], byKey)
		}
		j = e
	}
}
