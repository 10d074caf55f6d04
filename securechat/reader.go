package securechat

import (
	"encoding/binary"
)

// reader is a bounds-checked cursor over a byte slice: after the first
// short read every call returns zero values and err stays set, so decoders
// check once at the end and can never index out of range.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || len(r.b)-r.off < n {
		if r.err == nil {
			r.err = errorf("%w: truncated", ErrMalformed)
		}
		if n < 0 || n > 256 {
			return nil // never allocate what a hostile length asks for
		}
		return make([]byte, n)
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

func (r *reader) u8() uint8   { return r.bytes(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.bytes(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.bytes(4)) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.bytes(8)) }

func (r *reader) remaining() int { return len(r.b) - r.off }

// end reports a pending error or trailing bytes.
func (r *reader) end() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return errorf("%w: %d trailing bytes", ErrMalformed, len(r.b)-r.off)
	}
	return nil
}
