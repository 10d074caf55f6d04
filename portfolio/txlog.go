package portfolio

// logChunk is the number of entries per chunk of a chunkLog.
const logChunk = 4096

// chunkLog is an append-only list stored in fixed-size chunks, so growing
// it never copies what is already there (the ledger's journal and realized
// gains grow to millions of entries).
type chunkLog[T any] struct {
	chunks [][]T
	n      int
}

type txLog = chunkLog[Transaction]

const txChunk = logChunk

func (t *chunkLog[T]) len() int { return t.n }

func (t *chunkLog[T]) at(i int) *T { return &t.chunks[i/logChunk][i%logChunk] }

func (t *chunkLog[T]) append(x *T) {
	c := t.n / logChunk
	if c == len(t.chunks) {
		t.chunks = append(t.chunks, make([]T, 0, logChunk))
	}
	t.chunks[c] = append(t.chunks[c], *x)
	t.n++
}

// truncate drops everything from n on.
func (t *chunkLog[T]) truncate(n int) {
	for t.n > n {
		c := (t.n - 1) / logChunk
		k := t.n - c*logChunk // items in the last chunk
		keep := max(n-c*logChunk, 0)
		clear(t.chunks[c][keep:k])
		t.chunks[c] = t.chunks[c][:keep]
		t.n -= k - keep
	}
}

// all returns a copy of every entry in order.
func (t *chunkLog[T]) all() []T {
	out := make([]T, 0, t.n)
	for _, c := range t.chunks {
		out = append(out, c...)
	}
	return out
}
