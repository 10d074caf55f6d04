// Package chain is the Double Ratchet's symmetric-key chain as an optional
// value. A Chain either exists, holding a chain key derived from the root
// chain, or it does not (the specification's "None"). The chain key is
// reachable only through methods that report whether it exists, so no
// caller can derive a message key from a chain that was never initialised:
// there is no all-zero default key to fall back on.
package chain

import (
	"crypto/hmac"
	"crypto/sha256"
)

// KeySize is the size of chain and message keys.
const KeySize = 32

// Chain is a symmetric-key chain that may be absent. The zero value is an
// absent chain.
type Chain struct {
	key     [KeySize]byte
	present bool
}

// New returns a chain starting at key. An all-zero key (which no KDF
// output is, but a forged or corrupted state could be) gives an absent
// chain.
func New(key [KeySize]byte) Chain {
	var zero [KeySize]byte
	if hmac.Equal(key[:], zero[:]) {
		return Chain{}
	}
	return Chain{key: key, present: true}
}

// Present reports whether the chain exists.
func (c *Chain) Present() bool { return c.present }

// Next derives the chain's next message key and advances the chain:
// message key = HMAC-SHA256(ck, 0x01), next chain key = HMAC-SHA256(ck,
// 0x02). It returns false, and leaves c alone, when the chain is absent.
func (c *Chain) Next() (mk [KeySize]byte, ok bool) {
	if !c.present {
		return mk, false
	}
	h := hmac.New(sha256.New, c.key[:])
	h.Write([]byte{1})
	h.Sum(mk[:0])
	h.Reset()
	h.Write([]byte{2})
	h.Sum(c.key[:0])
	return mk, true
}

// Key returns the chain key for serialization, and false (with a zero key)
// when the chain is absent.
func (c *Chain) Key() (key [KeySize]byte, ok bool) {
	if !c.present {
		return key, false
	}
	return c.key, true
}

// Clear wipes the key and makes the chain absent.
func (c *Chain) Clear() {
	clear(c.key[:])
	c.present = false
}
